"""The search page and GET /api/v1/search: one service, the same visibility, escaped highlights, no 500."""
from __future__ import annotations

from incidents.extensions import db
from tests import factories

REAL_CASE = "INC000001001905"
PUBLISHED = "INC000001002401"  # the live demo's published report: a regional power cut


def test_the_page_is_in_the_menu_and_shows_ranked_highlighted_results(browsers):
    page = browsers["dcc"].get("/search?q=national+carrier")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/search"' in html
    assert "<mark>carrier</mark>" in html
    assert f'href="/incidents/{REAL_CASE}"' in html


def test_the_page_escapes_indexed_text(app, users, auth, client):
    factories.incident(actor=users["dcc"], title='<img src=x onerror=alert(1)> carrier')
    db.session.commit()
    auth.login(users["secas"])

    html = client.get("/search?q=carrier").get_data(as_text=True)

    assert "<img src=x" not in html
    assert "<mark>carrier</mark>" in html


def test_a_party_sees_published_editions_only(browsers):
    html = browsers["party"].get("/search?q=power+cut").get_data(as_text=True)

    assert f'href="/published/{PUBLISHED}"' in html
    assert f'href="/incidents/{PUBLISHED}' not in html
    assert "Searches the published Review Reports" in html


def test_a_bad_query_is_answered_with_what_to_fix(browsers):
    page = browsers["dcc"].get("/search?q=%20")
    assert page.status_code == 400
    assert "Enter the words to search for." in page.get_data(as_text=True)
    assert browsers["dcc"].get("/search?q=x&limit=500").status_code == 400
    assert browsers["dcc"].get("/search").status_code == 200


def test_the_page_needs_a_login(client, app):
    assert client.get("/search?q=carrier").status_code == 302


def _api(client, token, path):
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_api_answers_as_the_page_does(app, demo_tokens):
    client = app.test_client()

    inside = _api(client, demo_tokens["secas"], "/api/v1/search?q=questions&limit=5").get_json()
    outside = _api(client, demo_tokens["party"], "/api/v1/search?q=questions").get_json()

    assert inside["query"] == "questions" and 0 < len(inside["items"]) <= 5
    assert "secas_comment" in {item["kind"] for item in _api(
        client, demo_tokens["secas"], "/api/v1/search?q=questions").get_json()["items"]}
    assert "<mark>question" in inside["items"][0]["snippet_html"]
    assert inside["items"][0]["rank"] >= inside["items"][-1]["rank"]
    assert {item["kind"] for item in outside["items"]} <= {"publication"}
    assert all(item["url"].startswith("/published/") for item in outside["items"])


def test_the_api_refuses_bad_queries_with_422(app, demo_tokens):
    client = app.test_client()
    for path in ("/api/v1/search", "/api/v1/search?q=", "/api/v1/search?q=a&limit=x", "/api/v1/search?q=a&limit=0",
                 "/api/v1/search?q=a&q=b", "/api/v1/search?q=a&order=rank", "/api/v1/search?q=%00"):
        answer = _api(client, demo_tokens["dcc"], path)
        assert answer.status_code == 422, path
        assert answer.get_json()["errors"], path
    assert client.get("/api/v1/search?q=carrier").status_code == 401


def test_the_api_is_in_the_openapi_document(app, demo_tokens):
    document = app.test_client().get("/api/v1/openapi.json").get_json()

    operation = document["paths"]["/search"]["get"]
    assert operation["operationId"] == "search"
    assert "SearchResults" in document["components"]["schemas"]

"""API authentication and roles: bearer tokens only; readers read, writers write, parties see nothing."""
from __future__ import annotations

from incidents.extensions import db
from incidents.user import service as user_service
from tests.api.helpers import assert_problem, incident_json


def test_no_token_is_401_with_a_bearer_challenge(api):
    response = api.as_(None).get("/incidents")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="incidents"'


def test_unknown_or_malformed_token_is_401(api):
    for header in ("Bearer inc_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer " + "x" * 500):
        response = api.as_(None).get("/incidents", headers={"Authorization": header})
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="incidents", error="invalid_')


def test_revoked_token_and_deactivated_user_are_401(api, users, tokens):
    assert api.get("/incidents").status_code == 200
    user_service.revoke_tokens(user=users["dcc"])
    db.session.commit()
    assert_problem(api.get("/incidents"), 401)

    opsg = api.as_(tokens["opsg"])
    assert opsg.get("/incidents").status_code == 200
    user_service.set_active(user=users["opsg"], active=False, actor=users["admin"])
    db.session.commit()
    assert_problem(opsg.get("/incidents"), 401)


def test_scheme_is_case_insensitive(api, tokens):
    response = api.as_(None).get("/incidents", headers={"Authorization": f"bearer {tokens['secas']}"})
    assert response.status_code == 200


def test_a_logged_in_session_does_not_authenticate_the_api(api, auth, users):
    assert auth.login(users["dcc"]).status_code in (302, 303)
    assert_problem(api.as_(None).get("/incidents"), 401)
    assert_problem(api.as_(None).post("/incidents", json=incident_json()), 401)


def test_readers_may_not_write(api, tokens):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    for role in ("secas", "opsg"):
        reader = api.as_(tokens[role])
        assert_problem(reader.post("/incidents", json=incident_json()), 403)
        # 403 comes before the body is read: junk from a reader is still 403.
        assert_problem(reader.post("/incidents", data="{junk", content_type="application/json"), 403)
        assert_problem(reader.patch(f"/incidents/{ref}", etag=tag, json={"title": "x"}), 403)
        assert_problem(reader.post(f"/incidents/{ref}/timeline", json={}), 403)


def test_party_gets_404_for_existing_incidents_and_the_list(api, tokens):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    party = api.as_(tokens["party"])
    missing = party.get("/incidents/INC999999999999")
    existing = party.get(f"/incidents/{ref}")
    # The same answer for an incident that exists as for one that does not.
    assert_problem(existing, 404)
    assert existing.get_json()["detail"] == missing.get_json()["detail"].replace("INC999999999999", ref)
    assert_problem(party.get("/incidents"), 404)
    assert_problem(party.get("/incidents?category=banana"), 404)
    assert_problem(party.get(f"/incidents/{ref}/timeline"), 404)
    assert_problem(party.get(f"/incidents/{ref}/audit"), 404)
    assert_problem(party.patch(f"/incidents/{ref}", etag=tag, json={"title": "x"}), 404)
    assert_problem(party.post(f"/incidents/{ref}/timeline", json={}), 404)
    # Creating reveals nothing, and a party may not act: 403, even with a reference that exists.
    assert_problem(party.post("/incidents", json=incident_json(reference=ref)), 403)


def test_openapi_document_needs_no_token(api):
    response = api.as_(None).get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.")

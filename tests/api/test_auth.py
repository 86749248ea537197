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


def _last_used(users, role):
    db.session.expire_all()
    return users[role].tokens[0].last_used_at


def test_a_token_notes_its_last_use_at_most_once_a_minute(api, users, tokens, client):
    from datetime import timedelta

    import sqlalchemy as sa

    from incidents.timeutil import utcnow
    from incidents.user.models import ApiToken

    assert _last_used(users, "dcc") is None
    before = utcnow().replace(microsecond=0)
    assert api.get("/incidents").status_code == 200  # a read: nothing else is committed, the use is
    first = _last_used(users, "dcc")
    assert first is not None and first >= before - timedelta(seconds=1)
    for _ in range(3):
        assert api.get("/incidents").status_code == 200
    assert _last_used(users, "dcc") == first  # within the minute: not written again
    # A minute later it is written again.
    db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == users["dcc"].id)
                       .values(last_used_at=first - timedelta(seconds=61)))
    db.session.commit()
    assert api.get("/incidents").status_code == 200
    assert _last_used(users, "dcc") >= first
    # Another token is its own: the SECAS token has not been used.
    assert _last_used(users, "secas") is None


def test_last_use_is_written_once_a_minute_whatever_the_clock_says(users, tokens):
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    token = tokens["opsg"]
    assert user_service.authenticate_token(token, now=at) == users["opsg"]
    assert _last_used(users, "opsg") == at
    assert user_service.authenticate_token(token, now=at + timedelta(seconds=59)) == users["opsg"]
    assert _last_used(users, "opsg") == at
    assert user_service.authenticate_token(token, now=at + timedelta(seconds=60)) == users["opsg"]
    assert _last_used(users, "opsg") == at + timedelta(seconds=60)
    assert user_service.authenticate_token("inc_unknown", now=at) is None

"""People and states in words: names and organisations, human labels, principles by title, on every page, the
audit trail and the CSV exports (the API keeps its machine values)."""
from __future__ import annotations

import csv
import html
import io
import re

import pytest

from incidents import labels
from incidents.incident.models import IncidentStatus
from incidents.principle.models import title_for
from incidents.review.models import (
    DecisionOutcome,
    ExclusionState,
    ReportState,
    ReviewOutcome,
)
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories

CASE = "INC000001001905"
# The machine values of the demo's real case that used to reach people.
RAW_STATES = ("not_proposed", "information_requested", "not_started", "not_agreed", "exclusion_pending",
              "third_party", "dcc_service_provider")
RAW_PRINCIPLE = "third-party-infrastructure"
DEMO_EMAILS = ("dcc@demo.example", "secas@demo.example", "opsg@demo.example", "admin@demo.example")


def text_of(body: str) -> str:
    """Return what a person reads on a page: the main part, tags and attributes removed."""
    main = body.split("<main", 1)[-1].split("</main>", 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "<" + main)).split())


def rows_of(body: str) -> list[dict[str, str]]:
    """Read a CSV download."""
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


# --- The one place for words ---------------------------------------------------------------

def test_every_state_has_words_and_no_word_is_a_machine_value():
    for kind, words in labels.ENUM_LABELS.items():
        assert set(words) == {member.value for member in kind}, kind  # type: ignore[attr-defined]
        for value, word in words.items():
            assert "_" not in word and word[:1].isupper(), (kind, value, word)
    assert labels.label(ExclusionState.INFORMATION_REQUESTED) == "Information requested"
    assert labels.label(ExclusionState.NOT_PROPOSED) == "Not proposed"
    assert labels.label(ReportState.NOT_AGREED) == "Publication not agreed"
    assert labels.label(ReviewOutcome.INFORMATION_REQUESTED) == "Information requested"
    assert labels.label(DecisionOutcome.NOT_AGREED) == "Not agreed"
    assert labels.label(IncidentStatus.RESOLVED) == "Resolved"
    assert labels.label(Role.SECAS) == "SECAS reviewer"  # an enum with its own label keeps it
    assert labels.label("some_new_state") == "Some new state" and labels.label(None) == ""
    assert labels.state("exclusion_state", "information_requested") == "Information requested"
    assert labels.state("title", "information_requested") is None


@pytest.mark.parametrize("app_config", [{"ORGANISATIONS": {"dcc": "DCC", "secas": "SECAS",
                                                              "opsg": "Operations Group (OPSG)"}}])
def test_a_persons_organisation_and_an_actions_owner_are_named_by_the_same_configuration(app):
    member = factories.user(role="opsg", email="olu@opsg.example", name="Olu Adams")
    assert member.person == "Olu Adams (Operations Group (OPSG))"
    assert labels.organisation("opsg") == Role.OPSG.organisation == "Operations Group (OPSG)"
    assert Role.PARTY.organisation == "SEC Party"


def test_a_principle_is_shown_by_its_title():
    assert title_for("third-party-infrastructure") == "Third party infrastructure"
    assert title_for("force-majeure") == "Force majeure" and title_for(None) == ""


def test_a_person_is_their_name_and_organisation(app):
    named = factories.user(role="dcc", email="dana@dcc.example", name="Dana Clarke")
    unnamed = user_service.create_user(email="ops@secas.example", role="opsg", password=factories.PASSWORD)
    assert named.person == "Dana Clarke (DCC)"
    assert unnamed.person == "ops@secas.example (Operations Group)"
    assert [Role(r).organisation for r in ("dcc", "secas", "opsg", "party", "admin")] == [
        "DCC", "SECAS", "Operations Group", "SEC Party", "Administrator"]
    # A record keeps the email of whoever acted; people see who that is.
    assert user_service.person("DANA@dcc.example") == "Dana Clarke (DCC)"
    assert user_service.person(named) == "Dana Clarke (DCC)"
    assert user_service.person("gone@nowhere.example") == "gone@nowhere.example"
    assert user_service.person("system") == "System" and user_service.person(None) == ""


# --- Pages of the real case, as each role reads them -------------------------------------------

CASE_PAGES = (f"/incidents/{CASE}", f"/incidents/{CASE}/review", f"/incidents/{CASE}/audit",
              f"/incidents/{CASE}/report", f"/incidents/{CASE}/report/versions", f"/incidents/{CASE}/summary-report",
              f"/incidents/{CASE}/reminders", "/incidents/", "/pmr/2023-04", "/actions/", "/meetings/",
              "/meetings/OPSG_97/pack", "/")


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "admin"])
def test_pages_show_people_by_name_and_states_in_words(browsers, role):
    for path in CASE_PAGES:
        response = browsers[role].get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for email in DEMO_EMAILS:
            assert email not in body, (path, email)
        page = text_of(body)
        for raw in RAW_STATES:
            assert raw not in page, (path, raw)
        assert RAW_PRINCIPLE not in page, path


def test_the_review_page_names_who_did_each_step(browsers):
    page = text_of(browsers["opsg"].get(f"/incidents/{CASE}/review").get_data(as_text=True))
    assert "Proposed by Dana Clarke (DCC)," in page
    assert "SECAS: Information requested by Sam Ellis (SECAS)," in page
    assert "Principle cited Third party infrastructure" in page
    assert "recorded by Sam Ellis (SECAS)," in page
    assert "by Dana Clarke (DCC);" in page  # the submitted version


def test_the_audit_trail_says_what_happened_in_words(browsers):
    body = browsers["secas"].get(f"/incidents/{CASE}/audit").get_data(as_text=True)
    assert "information_requested" not in body and "not_proposed" not in body and "(review #" not in body
    page = text_of(body)
    assert (f"Review of {CASE} updated: exclusion state changed from Not proposed to Exclusion proposed, waiting "
            "for SECAS; also changed: principle, rationale") in page
    assert (f"Review of {CASE} updated: exclusion state changed from Exclusion proposed, waiting for SECAS to "
            "Information requested") in page
    assert "Who Sam Ellis (SECAS)" in page and "Who Dana Clarke (DCC)" in page
    assert "Principle (empty) Third party infrastructure" in page
    assert "Cause category (empty) Third party outside DCC control" in page
    assert "Action OPSG 97/04 created" in page and "Owner (empty) DCC" in page


def test_the_csv_exports_use_words(browsers):
    client = browsers["dcc"]
    audit = client.get(f"/incidents/{CASE}/audit.csv").get_data(as_text=True)
    for raw in (*DEMO_EMAILS, "information_requested", "not_proposed", "not_started", RAW_PRINCIPLE):
        assert raw not in audit, raw
    rows = rows_of(audit)
    assert {row["actor"] for row in rows} == {"Dana Clarke (DCC)", "Sam Ellis (SECAS)"}
    assert (f"Review of {CASE} updated: exclusion state changed from Exclusion proposed, waiting for SECAS to "
            "Information requested; also changed: comment") in [row["description"] for row in rows]

    incidents = rows_of(client.get("/incidents/export.csv").get_data(as_text=True))
    case = next(row for row in incidents if row["reference"] == CASE)
    assert (case["status"], case["pmr_treatment"], case["report_state"]) == (
        "Resolved", "Information requested", "Publication agreed")
    assert not {row["pmr_treatment"] for row in incidents} & {s.value for s in ExclusionState}

    pmr = client.get("/pmr/2023-04.csv").get_data(as_text=True)
    for raw in ("information_requested", "exclusion_pending", "not_proposed", "below_minimum", RAW_PRINCIPLE):
        assert raw not in pmr.split("\n", 1)[1], raw  # the header keeps its column names
    case = next(row for row in rows_of(pmr) if row["reference"] == CASE)
    assert (case["principle"], case["secas_outcome"], case["exclusion_state"]) == (
        "Third party infrastructure", "Information requested", "Information requested")

    actions = rows_of(client.get("/actions/export.csv").get_data(as_text=True))
    assert all("@demo.example" not in row["owner_user"] and row["status"] in ("Open", "Closed") for row in actions)


def test_the_api_keeps_machine_values(demo_tokens, client):
    headers = {"Authorization": f"Bearer {demo_tokens['dcc']}"}
    response = client.get(f"/api/v1/incidents/{CASE}/exclusion", headers=headers)
    assert response.status_code == 200
    assert "information_requested" in response.get_data(as_text=True)
    audit = client.get(f"/api/v1/incidents/{CASE}/audit", headers=headers).get_data(as_text=True)
    assert "dcc@demo.example" in audit and "not_proposed" in audit  # the recorded values, as kept

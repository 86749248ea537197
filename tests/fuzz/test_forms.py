"""Every HTML form survives hostile input: never a 500; a refusal is a 4xx page that says what to fix.

Each test seeds the demo data (reviews in every state, meetings, actions) so
the forms reach deep into the services, then posts Hypothesis-built bodies:
fields left out, sent twice, filled with huge or control-character text,
raw bytes that are not UTF-8, numbers as text, impossible dates and the UK
clock-change hours. After a save the page it redirects to must render, and
at the end every page of every record is read back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry, TimelineKind
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.user.models import User
from tests.fuzz.readback import read_back
from tests.fuzz.strategies import FUZZ, assert_html_answer, form_fields, post_form, text

CURRENT = "\x00current"  # replaced, just before sending, by the value the page would carry now
COHORTS = ["CSP N", "CSP C&S", "DSP", "S1SP", "SMKI"]

# The real case's times, so that a whole incident form can be valid (spoilt fields bring the rest).
started = st.sampled_from(["2023-04-04 06:15", "2023-04-04 06:15 BST"])
resolved = st.sampled_from(["2023-04-04 10:40", "2023-04-04 10:40 BST"])
# Any time: the clock-change hours, and anything from 1989 to 2030.
local_time = st.one_of(
    st.sampled_from(["2023-04-04 06:25", "2023-04-04 10:40 BST", "2023-10-29 01:30 GMT", "2023-10-29 01:30 BST",
                     "2023-03-26 02:30"]),
    st.datetimes(min_value=datetime(1989, 1, 1), max_value=datetime(2031, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M")))
day = st.one_of(st.sampled_from(["2023-06-26", "2030-01-31", "2023-02-28", "1899-12-31", "3000-01-01"]),
                st.dates().map(date.isoformat))
incident_reference = st.from_regex(r"INC\d{12}", fullmatch=True)
# Plausible text (any printable Unicode); the hostile kinds come from field_value and the spoilt fields.
words = st.one_of(st.sampled_from(["Outage", "CSP N NTE reset at 10:40.", "Carrier outage"]),
                  st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=60))
version = st.one_of(st.just(CURRENT), st.just(CURRENT), st.sampled_from(["0", "1", "-1", "999999999", "1.0", "v1"]))


# The irreversible steps show a confirmation first; "yes" is the confirmation page's button, "back" its way back.
CONFIRM = st.sampled_from(["yes", "", "back", "YES"])


@dataclass
class Target:
    """One form: who posts it, where, its fields, and where to find the values it must carry now."""

    role: str
    paths: st.SearchStrategy[str]
    fields: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    current: Callable[[str], dict[str, str]] = lambda path: {}
    answers_json: bool = False


def fuzz(browsers: dict[str, FlaskClient], target: Target) -> None:
    """Post Hypothesis-built bodies to the target and check every answer (and the page a save leads to)."""
    client = browsers[target.role]

    @FUZZ
    @given(path=target.paths, pairs=form_fields(target.fields))
    def attempt(path: str, pairs: list[tuple[str, Any]]) -> None:
        db.session.rollback()
        now = target.current(path) if any(value == CURRENT for _, value in pairs) else {}
        pairs = [(name, now.get(name, "") if value == CURRENT else value) for name, value in pairs]
        response = post_form(client, path, pairs)
        what = f"POST {path} {pairs!r}"[:3000]
        if target.answers_json and response.status_code >= 400:
            assert response.mimetype == "application/problem+json", what
        assert_html_answer(response, what=what)
        if 300 <= response.status_code < 400:
            location = response.headers["Location"]
            assert_html_answer(client.get(location), what=f"GET {location} after {what}")

    attempt()


# --- Lookups of what a page would carry now ----------------------------------------------

def _incident(path: str) -> Incident | None:
    reference = path.split("/")[2]
    return db.session.scalar(sa.select(Incident).where(Incident.reference == reference))


def _incident_version(path: str) -> dict[str, str]:
    incident = _incident(path)
    return {"version": str(incident.version)} if incident else {}


def _entry_version(path: str) -> dict[str, str]:
    parts = path.split("/")
    entry = db.session.get(TimelineEntry, int(parts[4])) if parts[4].isdigit() and int(parts[4]) < 2**31 else None
    return {"version": str(entry.version)} if entry else {}


def _review_etag(path: str) -> dict[str, str]:
    incident = _incident(path)
    review = review_service.get_review(incident) if incident else None
    return {"propose-etag": review_service.review_etag(review), "etag": report_service.report_etag(review)}


def _action_version(path: str) -> dict[str, str]:
    reference = action_service.reference_from_slug(path.split("/")[2])
    action = db.session.scalar(sa.select(Action).where(Action.reference == reference))
    return {"version": str(action.version)} if action else {}


def _references(demo: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from([*demo, "INC999999999999"])


def _incident_fields(*, editing: bool) -> dict[str, st.SearchStrategy[Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "reference": incident_reference, "title": words, "category": st.sampled_from(["1", "2", "3", "4", "5"]),
        "status": st.sampled_from(["", "open", "resolved", "closed"]), "started_at": started,
        "detected_at": st.sampled_from(["", "2023-04-04 06:25"]), "resolved_at": resolved,
        "cause_category": st.sampled_from(["third_party", "dcc", "unknown"]), "cause": words, "impact": words,
        "devices_affected": st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["120,000", "1 000", ""])),
        "dcc_responsible": st.just("y"),
    }
    for index in (0, 1):  # CSP N and CSP C&S; rows left out are cohorts not affected
        fields[f"cohorts-{index}-affected"] = st.just("y")
        fields[f"cohorts-{index}-impact_started_at"] = started
        fields[f"cohorts-{index}-restored_at"] = resolved
    fields["cohorts-9-affected"] = st.just("")  # a row that is not on the page
    if editing:
        fields["version"] = version
    return fields


# --- The tests -------------------------------------------------------------------------------

def test_incident_forms(browsers, demo):
    fuzz(browsers, Target("dcc", st.just("/incidents/new"), _incident_fields(editing=False)))
    fuzz(browsers, Target("dcc", _references(demo).map(lambda ref: f"/incidents/{ref}/edit"),
                          _incident_fields(editing=True), _incident_version))
    read_back(browsers["admin"])


def test_timeline_forms(browsers, demo):
    entries = [f"/incidents/{ref}/timeline/{entry_id}" for ref, entry_id in db.session.execute(
        sa.select(Incident.reference, TimelineEntry.id).join(TimelineEntry.incident))]
    entries += [f"/incidents/{demo[0]}/timeline/999999", f"/incidents/{demo[0]}/timeline/99999999999"]
    entry = {"occurred_at": local_time, "kind": st.sampled_from([k.value for k in TimelineKind]),
             "cohort": st.sampled_from(["", *COHORTS]), "text": words}
    fuzz(browsers, Target("dcc", _references(demo).map(lambda ref: f"/incidents/{ref}/timeline"), entry))
    fuzz(browsers, Target("dcc", st.sampled_from(entries).map(lambda p: p + "/edit"), {**entry, "version": version},
                          _entry_version))
    fuzz(browsers, Target("dcc", st.sampled_from(entries).map(lambda p: p + "/delete"), {"version": version},
                          _entry_version))
    read_back(browsers["admin"])


def test_review_forms(browsers, demo):
    on = _references(demo)
    long_text = st.one_of(words, st.sampled_from(["https://example.org/x\nftp://x\njavascript:alert(1)",
                                                   "\n".join(f"https://example.org/{n}" for n in range(12))]))
    fuzz(browsers, Target("dcc", on.map(lambda ref: f"/incidents/{ref}/review/proposal"), {
        "propose-treatment": st.sampled_from(["include", "exclude"]),
        "propose-principle": st.sampled_from(["third-party-infrastructure", "force-majeure", "gone", ""]),
        "propose-rationale": words, "propose-evidence_links": long_text, "propose-response": words,
        "propose-etag": st.one_of(st.just(CURRENT), st.just('"review-none"'))}, _review_etag))
    fuzz(browsers, Target("dcc", on.map(lambda ref: f"/incidents/{ref}/review/summary-report")))
    fuzz(browsers, Target("secas", on.map(lambda ref: f"/incidents/{ref}/review/exclusion-review"), {
        "secas-outcome": st.sampled_from(["agreed", "disagreed", "information_requested"]),
        "secas-comment": words}))
    fuzz(browsers, Target("secas", on.map(lambda ref: f"/incidents/{ref}/review/decision"), {
        "decision-meeting": st.from_regex(r"OPSG_[1-9][0-9]{0,3}", fullmatch=True),
        "decision-meeting_on": day, "decision-outcome": st.sampled_from(["agreed", "not_agreed", "deferred"]),
        "decision-minute": words, "decision-actions_text": words, "confirm": CONFIRM}))
    fuzz(browsers, Target("secas", on.map(lambda ref: f"/incidents/{ref}/review/publication"), {
        "publish-classification": st.sampled_from(["GREEN", "WHITE", "RED", "AMBER", "green"]),
        "publish-version": st.sampled_from(["1", "2", "x", ""]), "confirm": CONFIRM}))
    fuzz(browsers, Target("opsg", on.map(lambda ref: f"/incidents/{ref}/review/comments"), {"comment-body": words}))
    read_back(browsers["admin"])


def test_report_forms(browsers, demo):
    on = _references(demo)
    sections = {name: words for name in ("summary", "root_cause", "impact", "lessons_learned", "actions")}
    report = {**sections, "classification": st.sampled_from(["RED", "AMBER", "GREEN", "WHITE", "amber"]),
              "etag": st.one_of(st.just(CURRENT), st.just('"report-none"'))}
    fuzz(browsers, Target("dcc", on.map(lambda ref: f"/incidents/{ref}/report/edit"), report, _review_etag))
    fuzz(browsers, Target("dcc", on.map(lambda ref: f"/incidents/{ref}/report/autosave"), report, _review_etag,
                          answers_json=True))
    fuzz(browsers, Target("dcc", on.map(lambda ref: f"/incidents/{ref}/report/submit"), {"etag": report["etag"], "confirm": CONFIRM},
                          _review_etag))
    read_back(browsers["admin"])


def test_principle_forms(browsers, demo):
    codes = st.sampled_from(["third-party-infrastructure", "planned-maintenance", "force-majeure", "user-action",
                             "no-such-principle"])
    fuzz(browsers, Target("admin", st.just("/principles"), {
        "add-code": st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True), "add-wording": words}))
    fuzz(browsers, Target("admin", codes.map(lambda code: f"/principles/{code}/reword"), {"wording": words}))
    fuzz(browsers, Target("admin", st.tuples(codes, st.sampled_from(["retire", "reinstate"])).map(
        lambda pair: f"/principles/{pair[0]}/{pair[1]}")))
    read_back(browsers["admin"])


def test_action_and_meeting_forms(browsers, demo):
    slugs = [action_service.slug(r) for r in db.session.scalars(sa.select(Action.reference))]
    paths = st.sampled_from([*slugs, "OPSG 1-01", "nothing"]).map(lambda slug: f"/actions/{quote(slug)}/edit")
    people = st.sampled_from(["", "dcc@demo.example", "party@demo.example", "nobody@example.org", "DCC@DEMO.EXAMPLE"])
    linked = st.lists(st.sampled_from([*demo, "INC999999999999", "inc000001001905", "x"]), max_size=4).map(", ".join)
    action = {"text": words, "owner_org": st.sampled_from(["dcc", "secas", "opsg", "nobody"]), "owner_user": people,
              "target_on": day, "incidents": linked}
    fuzz(browsers, Target("secas", st.just("/actions/new"), {
        **action, "reference": st.from_regex(r"OPSG [1-9][0-9]{0,2}/[0-9]{2}", fullmatch=True),
        "raised_on": day}))
    fuzz(browsers, Target("secas", paths, {
        **action, "revision_reason": words, "status": st.sampled_from(["open", "closed", "done"]),
        "closing_note": words, "version": version}, _action_version))
    fuzz(browsers, Target("secas", st.just("/meetings/"), {
        "reference": st.from_regex(r"OPSG_[1-9][0-9]{0,3}", fullmatch=True), "held_on": day}))
    fuzz(browsers, Target("dcc", st.just("/calendar/token")))
    read_back(browsers["admin"])


def test_user_admin_forms(browsers, demo):
    # Never the administrator posting: demoting or deactivating it would end the test's own access.
    others = [uid for uid, email in db.session.execute(sa.select(User.id, User.email)) if email != "admin@demo.example"]
    ids = st.sampled_from([*others, 999999, 0])
    roles = st.sampled_from(["dcc", "secas", "opsg", "party", "admin", "root", "ADMIN"])
    passwords = st.one_of(st.sampled_from(["correct-horse-battery", "short"]), words)
    fuzz(browsers, Target("admin", st.just("/admin/users/new"), {
        "email": st.emails(), "name": words, "role": roles, "password": passwords}))
    fuzz(browsers, Target("admin", ids.map(lambda uid: f"/admin/users/{uid}/name"), {"name-name": words}))
    fuzz(browsers, Target("admin", ids.map(lambda uid: f"/admin/users/{uid}/role"), {"role-role": roles}))
    fuzz(browsers, Target("admin", ids.map(lambda uid: f"/admin/users/{uid}/password"),
                          {"password-password": passwords}))
    fuzz(browsers, Target("admin", st.tuples(ids, st.sampled_from(["deactivate", "activate", "tokens",
                                                                    "tokens/revoke"])).map(
        lambda pair: f"/admin/users/{pair[0]}/{pair[1]}")))
    read_back(browsers["admin"])


def test_login_form(app, demo):
    client = app.test_client()

    @FUZZ
    @given(pairs=form_fields({"email": st.sampled_from(["dcc@demo.example", "DCC@demo.example ", "nobody@x"]),
                              "password": st.sampled_from(["demo-password", "wrong"]), "submit": st.just("Log in")}),
           after=st.one_of(st.just(""), text().map(lambda t: "?next=" + quote(t, safe=""))))
    def attempt(pairs: list[tuple[str, Any]], after: str) -> None:
        client.post("/logout")
        response = post_form(client, "/login" + after, pairs)
        what = f"POST /login{after} {pairs!r}"[:3000]
        assert_html_answer(response, what=what)
        if response.status_code == 200:
            # A login that did not happen says why next to the field.
            assert 'class="errors"' in response.get_data(as_text=True), what
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/"), response.headers["Location"]

    attempt()


def test_hostile_path_segments_on_every_form(browsers, demo):
    templates = ["/incidents/{}/edit", "/incidents/{}/timeline", "/incidents/{}/timeline/1/edit",
                 "/incidents/{}/review/proposal", "/incidents/{}/review/comments", "/incidents/{}/report/edit",
                 "/incidents/{}/report/autosave", "/principles/{}/reword", "/principles/{}/retire",
                 "/actions/{}/edit", "/admin/users/{}/name"]

    @FUZZ
    @given(template=st.sampled_from(templates), segment=text(), role=st.sampled_from(["dcc", "secas", "admin"]))
    def attempt(template: str, segment: str, role: str) -> None:
        path = template.format(quote(segment.encode("utf-8", "surrogatepass"), safe=""))
        assert_html_answer(browsers[role].post(path, data={"text": "x"}), what=f"POST {path}")

    attempt()


def test_hostile_query_strings_on_list_and_report_pages(browsers, demo):
    pages = ["/incidents/", "/actions/", "/admin/outbox", f"/incidents/{demo[0]}/report",
             f"/incidents/{demo[0]}/report/diff", "/incidents/export.csv", "/actions/export.csv"]
    names = ["q", "category", "status", "pmr_month", "cohort", "page", "per_page", "overdue", "owner", "meeting",
             "state", "version", "from", "to", "zzz"]

    @FUZZ
    @given(page=st.sampled_from(pages),
           query=st.lists(st.tuples(st.sampled_from(names), text(surrogates=True)), max_size=4))
    def attempt(page: str, query: list[tuple[str, str]]) -> None:
        encoded = "&".join(f"{name}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}" for name, value in query)
        assert_html_answer(browsers["admin"].get(f"{page}?{encoded}"), what=f"GET {page}?{encoded}")

    attempt()
    for month in ("2023-04", "0000-01", "9999-12", "2023-13", "%00", "x" * 300, "2023-4", "١٩٩٠-٠١"):
        assert_html_answer(browsers["admin"].get(f"/pmr/{month}"), what=month)
        assert_html_answer(browsers["admin"].get(f"/pmr/{month}.csv"), what=month)

"""The review workflow in the browser: the real case walked by every role, access, order, staleness, safety."""
from __future__ import annotations

import html as html_lib
import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.review.models import ExclusionState, ReportState, Review
from tests import factories

SECTIONS = {
    "summary": "A nationwide outage of a national telecoms carrier.\n\n**CSP N took longest.**",
    "root_cause": "Carrier core network failure; CSP N NTE stuck and needed a reset.",
    "impact": "Smart meter communications unavailable.",
    "lessons_learned": "- Agree a remote NTE reset route.",
    "actions": "- OPSG 97/04: DCC to confirm its principles.",
}
RATIONALE = "Restoration depended on a national carrier outside the control of the DCC and its Service Providers."
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
TAG_WITH_HANDLER = re.compile(r"<[^<>]*onerror\s*=", re.IGNORECASE)


@pytest.fixture()
def case(app, users, now):
    """The INC000001001905 shape, with the default principles (the schema is built without migrations)."""
    principle_service.seed_defaults()
    incident = factories.incident(actor=users["dcc"], now=now)
    factories.meeting("OPSG_97", date(2023, 6, 26), actor=users["secas"])
    db.session.commit()
    return incident


@pytest.fixture()
def as_role(auth, users):
    """Log the client in as the user of a role."""
    def login(role: str) -> None:
        auth.logout()
        response = auth.login(users[role])
        assert response.status_code == 302, f"could not log in as {role}"
    return login


def hidden(page: str, name: str) -> str:
    """Return the value of a hidden input on the page."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html_lib.unescape(value.group(1)) if value else ""


def follow_flash(client: FlaskClient, response) -> str:
    """Follow a redirect and return the page it lands on."""
    assert response.status_code == 302, response.text[:500]
    return client.get(response.headers["Location"]).text


def unescaped(page: str) -> str:
    """Return page text with entities decoded, for comparing messages with quotes."""
    return html_lib.unescape(page)


def assert_neutralised(page: str) -> None:
    """No script element and no event handler inside a tag."""
    assert "<script" not in page.lower()
    assert not TAG_WITH_HANDLER.search(page)


def refetch():
    """Drop what the test's session holds, so it reads what requests committed."""
    db.session.expire_all()


SUMMARY_SENT = {"what_happened": "A national carrier outage.", "recipients": "SECAS\nOPSG members",
                "sent_at": "2023-04-05 16:00", "intent": "sent"}


def url(case, path: str = "review") -> str:
    return f"/incidents/{case.reference}/{path}"


def propose(client, case, page: str, **overrides):
    data = {"propose-treatment": "exclude", "propose-principle": "third-party-infrastructure",
            "propose-rationale": RATIONALE, "propose-evidence_links": "https://example.org/carrier-statement",
            "propose-etag": hidden(page, "propose-etag") if 'name="propose-etag"' in page else ""}
    data.update(overrides)
    return client.post(url(case, "review/proposal"), data=data)


def save_report(client, case, sections=None, classification="AMBER", etag=None):
    page = client.get(url(case, "report/edit")).text
    data = {**(sections or SECTIONS), "classification": classification,
            "etag": etag if etag is not None else hidden(page, "etag")}
    return client.post(url(case, "report/edit"), data=data)


def submit_report(client, case):
    page = client.get(url(case, "report/edit")).text
    return client.post(url(case, "report/submit"), data={"etag": hidden(page, "etag"), "confirm": "yes"})


def record_decision(client, case, **overrides):
    data = {"decision-meeting": "OPSG_97", "decision-report_version": "1", "decision-outcome": "agreed",
            "decision-classification": "GREEN",
            "decision-minute": "The group noted the review and agreed the Review Report can be published.",
            "decision-actions_text": "OPSG 97/04 | dcc | 2023-07-24 | DCC to confirm the principles for third-party "
                                     "incidents.", "confirm": "yes"}
    data.update(overrides)
    return client.post(url(case, "review/decision"), data=data)


def walk_to_submitted(client, case, as_role) -> None:
    """DCC proposes, SECAS agrees, DCC drafts and submits."""
    as_role("dcc")
    assert propose(client, case, client.get(url(case)).text).status_code == 302
    as_role("secas")
    assert client.post(url(case, "review/exclusion-review"),
                       data={"secas-outcome": "agreed", "secas-comment": "Agreed."}).status_code == 302
    as_role("dcc")
    assert save_report(client, case).status_code == 302
    assert submit_report(client, case).status_code == 302


# --- The real case, end to end ---------------------------------------------------------

def test_real_case_through_the_pages_as_each_role(client, case, as_role):
    derived = incident_service.derive(case)

    # DCC: the page says who acts next and by when, then the DCC proposes the exclusion.
    as_role("dcc")
    page = client.get(url(case)).text
    assert "No PMR treatment proposed yet" in page and "Review Report not started" in page
    summary_due = derived.summary_report_due_on
    assert summary_due == date(2023, 4, 6)
    assert "Thu 6 Apr 2023" in page
    review_due = derived.review_report_due_on
    assert f"{review_due:%a} {review_due.day} {review_due:%b %Y}" in page
    assert f'action="/incidents/{case.reference}/review/proposal"' in page
    assert "Caused by a failure of third-party national infrastructure" in page  # the select shows the wording
    assert "review/exclusion-review" not in page and "review/decision" not in page and "review/publication" not in page
    page = follow_flash(client, propose(client, case, page))
    assert "Proposed exclusion citing “Third party infrastructure” (round 1)" in unescaped(page)
    assert "Exclusion proposed, waiting for SECAS" in page
    assert "https://example.org/carrier-statement" in page
    # The DCC records the Summary Report it sent on 5 April: it leaves every "what you must do next".
    assert "Send the Major Incident Summary Report" in page
    page = follow_flash(client, client.post(url(case, "summary-report"), data=SUMMARY_SENT))
    assert "Recorded Summary Report version 1 as sent." in page
    assert "Send the Major Incident Summary Report" not in client.get(url(case)).text

    # SECAS asks for more information.
    as_role("secas")
    page = client.get(url(case)).text
    assert "review/exclusion-review" in page and "review/proposal" not in page
    response = client.post(url(case, "review/exclusion-review"), data={
        "secas-outcome": "information_requested",
        "secas-comment": "Set out the principles the DCC uses to exclude third-party incidents."})
    page = follow_flash(client, response)
    assert "Asked the DCC for more information (round 1)" in page
    assert "SECAS asked the DCC for more information" in page

    # DCC answers: without an answer the form says what is missing, and keeps what was typed.
    as_role("dcc")
    page = client.get(url(case)).text
    assert 'name="propose-response"' in page
    assert RATIONALE in page  # the form starts from round 1
    response = propose(client, case, page, **{"propose-rationale": RATIONALE + " Again."})
    assert response.status_code == 422
    assert "Answer SECAS" in unescaped(response.text) and (RATIONALE + " Again.") in response.text
    page = follow_flash(client, propose(client, case, page, **{
        "propose-response": "CSP N's NTE stuck and needed a reset; the DCC will confirm its principles (OPSG 97/04)."}))
    assert "round 2" in page and "Round 2" in page

    # SECAS agrees; every round and outcome stays on the page.
    as_role("secas")
    page = follow_flash(client, client.post(url(case, "review/exclusion-review"), data={
        "secas-outcome": "agreed", "secas-comment": "Agreed: the exclusion applies to the April 2023 PMR."}))
    assert "Excluded from the PMR (SECAS agreed)" in page
    assert page.count('class="panel round"') == 2
    assert "SECAS: Information requested" in page and "SECAS: Agreed" in page
    assert "Set out the principles the DCC uses" in page

    # DCC drafts, then submits.
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    assert page.count("<textarea") == 5 and 'name="classification"' in page
    assert 'src="/static/report-autosave.js"' in page
    page = follow_flash(client, save_report(client, case))
    assert "Saved draft version 1." in page
    report = client.get(url(case, "report")).text
    assert "Version 1" in report and "Draft" in report
    assert "<strong>CSP N took longest.</strong>" in report
    assert "CSP N took longest: 4 h 25 min" in report
    page = follow_flash(client, submit_report(client, case))
    assert "Submitted version 1; it is now frozen." in page
    assert "Review Report submitted, waiting for the Operations Group" in page

    # OPSG records the decision at OPSG_97 (in the past).
    as_role("opsg")
    page = client.get(url(case)).text
    assert "review/decision" in page and "review/publication" not in page and "review/proposal" not in page
    page = follow_flash(client, record_decision(client, case))
    assert "Recorded the OPSG_97 decision: agreed." in page
    assert "OPSG_97, Mon 26 Jun 2023" in page

    # SECAS publishes, as GREEN: the classification the group agreed (nothing to choose).
    as_role("secas")
    page = client.get(url(case)).text
    # The classification is pre-filled with the one agreed: nothing to choose.
    assert hidden(page, "publish-classification") == "GREEN" and 'type="radio" name="publish-classification"' not in page
    assert "is published as <strong>GREEN</strong>, the classification the group agreed" in page
    # The first press shows what will happen; the second, on that page, publishes.
    confirmation = client.post(url(case, "review/publication"), data={
        "publish-classification": hidden(page, "publish-classification"),
        "publish-version": hidden(page, "publish-version")})
    assert confirmation.status_code == 200 and "will be published" in confirmation.text
    page = follow_flash(client, client.post(url(case, "review/publication"), data={
        "publish-classification": hidden(confirmation.text, "publish-classification"),
        "publish-version": hidden(confirmation.text, "publish-version"), "confirm": "yes"}))
    assert "Published version 1 to SEC Parties as GREEN." in page
    assert "Nothing is waiting" in page

    # A SEC Party lists and reads it: the published version only, none of the review history.
    as_role("party")
    listing = client.get("/published").text
    assert case.reference in listing and "GREEN" in listing
    published = client.get(f"/published/{case.reference}").text
    assert "as version 1" in published and "Published " in published
    assert published.count("classification classification-green") == 2
    assert "CSP N took longest: 4 h 25 min" in published
    assert "Caused by a failure of third-party national infrastructure" in published  # the principle wording
    for internal in ("Set out the principles the DCC uses", "Round 1", "OPSG_97", "Agreed: the exclusion applies",
                     "/review", "report/versions"):
        assert internal not in published
    refetch()
    review = review_service.get_review(case)
    assert review.exclusion_state == ExclusionState.AGREED and review.report_state == ReportState.PUBLISHED


def test_party_cannot_see_the_review_or_unpublished_report(client, case, as_role):
    as_role("party")
    for path in ("review", "report", "report/edit", "report/versions", "report/diff", "report?version=1"):
        assert client.get(url(case, path)).status_code == 404, path
    assert client.get(f"/published/{case.reference}").status_code == 404
    assert client.get("/published/INC999999999999").status_code == 404
    assert client.get("/published").status_code == 200


def test_party_gets_404_on_unpublished_after_the_decision(client, case, as_role):
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    assert record_decision(client, case).status_code == 302
    as_role("party")
    assert client.get(f"/published/{case.reference}").status_code == 404
    assert case.reference not in client.get("/published").text


# --- Who may do what ------------------------------------------------------------------------

POSTS = {
    "propose": ("review/proposal", {"propose-treatment": "include"}, {"dcc", "admin"}),
    "exclusion review": ("review/exclusion-review", {"secas-outcome": "agreed", "secas-comment": "ok"},
                         {"secas", "admin"}),
    "decision": ("review/decision", {"decision-meeting": "OPSG_97", "decision-meeting_on": "2023-06-26",
                                     "decision-outcome": "agreed", "decision-minute": "ok"},
                 {"secas", "opsg", "admin"}),
    "publish": ("review/publication", {"publish-classification": "GREEN"}, {"secas", "admin"}),
    "report edit": ("report/edit", {**SECTIONS, "classification": "AMBER"}, {"dcc", "admin"}),
    "report autosave": ("report/autosave", {**SECTIONS, "classification": "AMBER"}, {"dcc", "admin"}),
    "report submit": ("report/submit", {}, {"dcc", "admin"}),
    "comment": ("review/comments", {"comment-body": "A comment."}, {"dcc", "secas", "opsg", "admin"}),
    "summary report": ("summary-report", SUMMARY_SENT, {"dcc", "admin"}),
}


@pytest.mark.parametrize("step", sorted(POSTS))
def test_each_post_refuses_the_roles_that_may_not_do_it(client, case, as_role, step):
    path, data, allowed = POSTS[step]
    for role in ("dcc", "secas", "opsg", "party", "admin"):
        as_role(role)
        status = client.post(url(case, path), data=data).status_code
        if role == "party":
            # A SEC Party may not know an unpublished incident exists.
            assert status == 404, (step, role)
        elif role in allowed:
            assert status not in (403, 404, 500), (step, role, status)
        else:
            assert status == 403, (step, role, status)


def test_editor_page_is_for_the_dcc_only(client, case, as_role):
    for role, status in (("secas", 403), ("opsg", 403), ("dcc", 200), ("admin", 200)):
        as_role(role)
        assert client.get(url(case, "report/edit")).status_code == status


def test_forms_are_shown_only_to_roles_that_may_act_now(client, case, as_role):
    as_role("secas")
    page = client.get(url(case)).text
    # Nothing to review yet, so SECAS sees no review form; anyone may comment.
    assert "review/exclusion-review" not in page and "review/proposal" not in page
    assert "review/comments" in page
    as_role("opsg")
    page = client.get(url(case)).text
    assert "review/decision" not in page and "report/edit" not in page


# --- Steps out of order ---------------------------------------------------------------------

def test_steps_out_of_order_say_what_must_happen_first(client, case, as_role):
    as_role("secas")
    page = follow_flash(client, client.post(url(case, "review/exclusion-review"),
                                            data={"secas-outcome": "agreed", "secas-comment": "ok"}))
    assert "the DCC must propose an exclusion first" in page and "flash-error" in page
    page = follow_flash(client, client.post(url(case, "review/publication"),
                                            data={"publish-classification": "GREEN", "confirm": "yes"}))
    assert "record an &#39;agreed&#39; decision first" in page or "record an 'agreed' decision first" in page
    as_role("opsg")
    page = follow_flash(client, record_decision(client, case))
    assert "the DCC must submit the Review Report first" in page
    as_role("dcc")
    page = follow_flash(client, client.post(url(case, "report/submit"), data={"confirm": "yes"}))
    assert "no draft to submit; write the report first" in page
    # A submitted report waits for the DCC to state the PMR treatment before the decision.
    assert save_report(client, case).status_code == 302
    assert submit_report(client, case).status_code == 302
    as_role("opsg")
    page = client.get(url(case)).text
    assert "The DCC has not stated the PMR treatment yet" in page and "review/decision" not in page
    page = follow_flash(client, record_decision(client, case))
    assert "The DCC has not stated the PMR treatment yet" in page
    refetch()
    assert review_service.get_review(case).report_state == ReportState.SUBMITTED
    as_role("dcc")
    assert propose(client, case, client.get(url(case)).text).status_code == 302
    page = follow_flash(client, propose(client, case, client.get(url(case)).text))
    assert "SECAS is reviewing the current proposal" in page


def test_published_report_cannot_be_edited(client, case, as_role):
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    record_decision(client, case)
    as_role("dcc")
    response = client.get(url(case, "report/edit"))
    page = follow_flash(client, response)
    assert "The report cannot be changed now: Operations Group agreed publication" in page


def test_invalid_input_is_shown_on_the_fields_never_a_500(client, case, as_role):
    as_role("dcc")
    page = client.get(url(case)).text
    response = propose(client, case, page, **{"propose-treatment": "maybe", "propose-principle": "",
                                              "propose-rationale": "", "propose-evidence_links": "ftp://x"})
    assert response.status_code == 422
    text = unescaped(response.text)
    assert "Say whether the incident is excluded" in text
    assert "Each evidence link must be an http(s) URL." in text
    assert 'id="field-propose-evidence_links"' in text and "There is a problem" in text
    response = propose(client, case, page, **{"propose-principle": "no-such-principle"})
    assert response.status_code == 422 and "There is no principle" in response.text
    assert propose(client, case, page, **{"propose-treatment": "include", "propose-rationale": ""}).status_code == 302
    save_report(client, case)
    assert client.post(url(case, "report/edit"), data={"classification": "PURPLE", "etag": ""}).status_code == 422
    response = client.post(url(case, "report/submit"), data={"confirm": "yes"})
    assert response.status_code == 302
    for path in ("report?version=abc", "report?version=99", "report/diff?from=1&to=9", "report/diff?from=x"):
        assert client.get(url(case, path)).status_code == 404, path
    assert client.get("/incidents/INC000000000000/review").status_code == 404
    assert client.get("/incidents/INC%00/review").status_code == 404

    assert review_service.get_review(case).report_state == ReportState.SUBMITTED
    as_role("secas")
    response = record_decision(client, case, **{"decision-meeting": "meeting 97", "decision-outcome": "yes",
                                                "decision-minute": "", "decision-actions_text": "OPSG 97/05 | dcc"})
    assert response.status_code == 422 and "Action 1: write it as reference | owner | target date | text" in (
        unescaped(response.text))
    response = record_decision(client, case, **{"decision-meeting": "meeting 97", "decision-minute": "",
                                                "decision-classification": "", "decision-report_version": "x"})
    assert response.status_code == 422
    text = unescaped(response.text)
    assert "meeting 97 is not in it" in text and "Minute is required." in text
    assert "Say under which classification the group agreed publication" in text
    assert "Name the report version the group decided on" in text
    response = client.post(url(case, "review/comments"), data={"comment-body": "  "})
    assert response.status_code == 422 and "Comment is required." in response.text


def test_red_cannot_be_agreed_for_publication(client, case, as_role):
    as_role("dcc")
    propose(client, case, client.get(url(case)).text, **{"propose-treatment": "include"})
    save_report(client, case, classification="RED")
    submit_report(client, case)
    as_role("secas")
    page = follow_flash(client, record_decision(client, case, **{"decision-classification": "GREEN"}))
    assert "A version classified RED is never agreed for publication nor published" in unescaped(page)
    refetch()
    assert review_service.get_review(case).report_state == ReportState.SUBMITTED


def test_the_decision_form_offers_the_registers_held_meetings_and_names_the_version(client, case, as_role, users):
    factories.meeting("OPSG_300", date(2099, 6, 30), actor=users["secas"])
    db.session.commit()
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    page = client.get(url(case)).text
    assert '<option value="OPSG_97">OPSG_97, Mon 26 Jun 2023</option>' in page and "OPSG_300" not in page
    assert hidden(page, "decision-report_version") == "1" and "Record a decision on version 1" in page
    response = record_decision(client, case, **{"decision-meeting": "OPSG_300"})
    assert response.status_code == 422 and "which is still to come" in response.text
    # The DCC withdrew version 1 and submitted version 2 meanwhile: the decision on version 1 is refused.
    as_role("dcc")
    page = follow_flash(client, client.post(url(case, "report/withdraw"), data={
        "etag": hidden(client.get(url(case)).text, "etag"), "confirm": "yes", "version": "1"}))
    assert "Withdrew version 1; it has left the meeting pack." in page
    assert save_report(client, case, {**SECTIONS, "impact": "Revised."}).status_code == 302
    assert submit_report(client, case).status_code == 302
    as_role("opsg")
    page = follow_flash(client, record_decision(client, case))
    assert "Version 1 is not the version waiting for the Operations Group: version 2 is." in unescaped(page)
    page = follow_flash(client, record_decision(client, case, **{"decision-report_version": "2"}))
    assert "Recorded the OPSG_97 decision: agreed." in page
    assert "publication agreed as <strong>GREEN</strong>" in page
    assert ">OPSG 97/04</a>" in page  # the minuted action, linked to the register
    refetch()
    actions = review_service.get_review(case).decisions[0].actions
    assert [(a.reference, a.owner_org, a.target_on) for a in actions] == [("OPSG 97/04", "dcc", date(2023, 7, 24))]


@pytest.mark.parametrize("form", ["decision", "publication", "report"])
def test_a_save_that_loses_the_race_is_a_409_page_not_a_500(client, case, as_role, form, monkeypatch):
    walk_to_submitted(client, case, as_role)
    if form == "publication":
        as_role("secas")
        assert record_decision(client, case).status_code == 302
    if form == "report":
        as_role("dcc")
        client.post(url(case, "report/withdraw"), data={"etag": hidden(client.get(url(case)).text, "etag"),
                                                    "confirm": "yes", "version": "1"})
    page = client.get(url(case, "report/edit" if form == "report" else "review")).text
    review_id = review_service.get_review(case).id

    def someone_else_saves_first(session, flush_context, instances):
        if any(isinstance(obj, Review) for obj in session.dirty) and not raced:
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(sa.update(Review).where(Review.id == review_id).values(version=Review.version + 1))

    raced: list[bool] = []
    sa.event.listen(db.session, "before_flush", someone_else_saves_first)
    try:
        if form == "decision":
            as_role("opsg")
            response = record_decision(client, case)
        elif form == "publication":
            response = client.post(url(case, "review/publication"), data={"confirm": "yes", "publish-version": "1"})
        else:
            data = {**SECTIONS, "summary": "Mine.", "classification": "AMBER", "etag": hidden(page, "etag")}
            response = client.post(url(case, "report/edit"), data=data)
    finally:
        sa.event.remove(db.session, "before_flush", someone_else_saves_first)
    assert raced and response.status_code == 409, response.text[:300]
    text = unescaped(response.text)
    assert "Someone else" in text and ("Before:" in text or "It now stands at version" in text)


def test_a_category_3_incident_needs_no_review(client, app, users, as_role, now):
    minor = factories.incident(actor=users["dcc"], now=now, category=3)
    db.session.commit()
    as_role("dcc")
    page = client.get(f"/incidents/{minor.reference}/review").text
    assert "is not declared a Major Incident" in page and "review/proposal" not in page
    page = follow_flash(client, client.post(f"/incidents/{minor.reference}/review/proposal",
                                            data={"propose-treatment": "include"}))
    assert "only declared Major Incidents have a review" in page


# --- Report versions ---------------------------------------------------------------------------

def test_stale_save_keeps_the_text_and_links_to_the_newer_version(client, case, as_role, users):
    as_role("dcc")
    assert save_report(client, case).status_code == 302
    page = client.get(url(case, "report/edit")).text
    opened_etag = hidden(page, "etag")
    # A colleague saves version 2 meanwhile.
    refetch()
    report_service.save_draft(incident=case, sections={**SECTIONS, "impact": "Impact text from a colleague."},
                              classification="AMBER", actor=users["admin"])
    db.session.commit()
    mine = {**SECTIONS, "summary": "My careful new summary that must not be lost."}
    response = client.post(url(case, "report/edit"), data={**mine, "classification": "AMBER", "etag": opened_etag})
    assert response.status_code == 409
    assert "My careful new summary that must not be lost." in response.text
    assert "Someone else saved the report" in response.text
    assert f'href="/incidents/{case.reference}/report?version=2"' in response.text
    # Saving again on purpose makes the person's text version 3; version 2 stays.
    again = client.post(url(case, "report/edit"), data={**mine, "classification": "AMBER",
                                                        "etag": hidden(response.text, "etag")})
    assert "Saved draft version 3." in follow_flash(client, again)
    assert "Impact text from a colleague." in client.get(url(case, "report?version=2")).text


def test_autosave_answers_json_and_detects_staleness(client, case, as_role, users):
    as_role("dcc")
    page = client.get(url(case, "report/edit")).text
    data = {**SECTIONS, "classification": "AMBER", "etag": hidden(page, "etag"), "draft": hidden(page, "draft")}
    response = client.post(url(case, "report/autosave"), data=data, headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    # Autosave keeps the working draft; it makes no version (tests/report/test_editor.py has the detail).
    assert body["kept"] is True and body["number"] is None and body["etag"].startswith('"report-')
    data.update(summary="Typed more.", etag=body["etag"], draft=body["draft"])
    body = client.post(url(case, "report/autosave"), data=data).get_json()
    assert body["kept"] is True and body["number"] is None
    data.update(etag=body["etag"], draft=body["draft"])
    page = follow_flash(client, client.post(url(case, "report/edit"), data=data))
    assert "Saved draft version 1." in page
    data.update(etag=hidden(page, "etag"), draft=hidden(page, "draft"))
    # An out-of-date ETag gets a problem answer naming the newest version.
    response = client.post(url(case, "report/autosave"), data={**data, "summary": "Other", "etag": '"report-1-v0"'})
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert response.get_json()["latest"] == 1
    response = client.post(url(case, "report/autosave"), data={**data, "classification": "PURPLE"})
    assert response.status_code == 422 and "classification" in response.get_json()["errors"]
    as_role("secas")
    response = client.post(url(case, "report/autosave"), data=data, headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_versions_and_diff_pages_show_changes(client, case, as_role):
    walk_to_submitted(client, case, as_role)
    revised = {**SECTIONS, "summary": "A nationwide outage of a national telecoms carrier.\n\nRestored by 10:40 BST.",
               "impact": SECTIONS["impact"]}
    client.post(url(case, "report/withdraw"), data={"etag": hidden(client.get(url(case)).text, "etag"),
                                                    "confirm": "yes", "version": "1"})
    page = follow_flash(client, save_report(client, case, revised, classification="GREEN"))
    assert "Saved draft version 2." in page
    versions = client.get(url(case, "report/versions")).text
    assert "Version 2" in versions and "Version 1" in versions and "Submitted (frozen)" in versions
    diff = client.get(url(case, "report/diff?from=1&to=2")).text
    assert "version 1 to 2" in diff
    assert re.search(r'class="diff-added"><ins>.*Restored by 10:40 BST\.</ins>', diff)
    assert re.search(r'class="diff-removed"><del>.*\*\*CSP N took longest\.\*\*</del>', diff)
    assert "No change" in diff  # the sections that did not change
    assert "1 added, 1 removed" in diff
    # Classification changed too.
    assert re.search(r"<del>.*AMBER</del>", diff) and re.search(r"<ins>.*GREEN</ins>", diff)
    assert client.get(url(case, "report/diff")).status_code == 200
    # Version 1 stays as submitted.
    v1 = client.get(url(case, "report?version=1")).text
    assert "Submitted and frozen" in v1 and "CSP N took longest." in v1


def test_report_pages_carry_the_classification_banner_top_and_bottom(client, case, as_role):
    as_role("dcc")
    save_report(client, case, classification="RED")
    page = client.get(url(case, "report")).text
    assert page.count('class="classification classification-red"') == 2
    assert page.index("classification-red") < page.index("Major Incident Review Report:")
    assert "Named recipients only" in page


# --- Untrusted text -----------------------------------------------------------------------------

def test_script_injection_is_neutralised_everywhere(client, case, as_role):
    as_role("dcc")
    sections = {key: f"{value}\n\n{XSS}\n\n[x](javascript:alert(3))" for key, value in SECTIONS.items()}
    save_report(client, case, sections)
    report = client.get(url(case, "report")).text
    assert_neutralised(report)
    assert "&lt;script&gt;" in report and 'href="javascript' not in report
    assert client.post(url(case, "review/comments"), data={"comment-body": XSS}).status_code == 302
    page = client.get(url(case)).text
    assert_neutralised(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    propose(client, case, page, **{"propose-treatment": "include", "propose-rationale": XSS})
    submit_report(client, case)
    as_role("opsg")
    record_decision(client, case, **{"decision-minute": XSS, "decision-outcome": "deferred",
                                     "decision-actions_text": f"OPSG 97/01 | dcc | 2023-07-24 | {XSS}"})
    page = client.get(url(case)).text
    assert_neutralised(page)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    for path in ("report?version=1", "report/versions", "report/diff?from=1&to=1"):
        assert_neutralised(client.get(url(case, path)).text)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_with_csrf_on_forms_and_autosave_carry_their_token(client, case, users):
    login_page = client.get("/login").text
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                "csrf_token": hidden(login_page, "csrf_token")})
    page = client.get(url(case)).text
    # Each form on the review page carries its own (prefixed) token.
    assert client.post(url(case, "review/comments"), data={"comment-body": "No token."}).status_code == 400
    response = client.post(url(case, "review/comments"), data={
        "comment-body": "With token.", "comment-csrf_token": hidden(page, "comment-csrf_token")})
    assert response.status_code == 302
    editor = client.get(url(case, "report/edit")).text
    data = {**SECTIONS, "classification": "AMBER", "etag": hidden(editor, "etag")}
    response = client.post(url(case, "report/autosave"), data=data, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    response = client.post(url(case, "report/autosave"), data=data,
                           headers={"Accept": "application/json", "X-CSRFToken": hidden(editor, "csrf_token")})
    assert response.status_code == 200 and response.get_json()["kept"] is True


def test_submitting_a_version_older_than_the_latest_is_refused_on_the_editor(client, case, as_role):
    as_role("dcc")
    assert save_report(client, case).status_code == 302
    opened = hidden(client.get(url(case, "report/edit")).text, "etag")
    assert save_report(client, case, sections={**SECTIONS, "impact": "Revised."}).status_code == 302
    response = client.post(url(case, "report/submit"), data={"etag": opened, "confirm": "yes"})
    assert response.headers["Location"].endswith(url(case, "report/edit"))
    assert "saved again since you opened it" in follow_flash(client, response)
    refetch()
    assert review_service.get_review(case).report_state == ReportState.DRAFT
    assert submit_report(client, case).status_code == 302

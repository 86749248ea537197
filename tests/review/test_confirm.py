"""Each irreversible review step shows what it will do, and to whom, before it is done; only the confirm button does it.

Submitting a report version, withdrawing it, recording the Operations Group's decision and publishing to SEC
Parties: without the confirmation nothing changes and the page names the version, the recipients, the meeting and
the classification; with it the step is done; a step the workflow refuses shows the workflow's own reason.
"""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.redaction import service as redaction_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.models import Decision, ReportState
from incidents.timeutil import format_date
from tests import factories
from tests.review import test_views
from tests.review.test_views import (
    SECTIONS,
    follow_flash,
    hidden,
    propose,
    record_decision,
    refetch,
    save_report,
    unescaped,
    url,
    walk_to_submitted,
)

# The review pages' fixtures: the real case's incident, and logging in as a role.
case = test_views.case
as_role = test_views.as_role
NEXT_MEETING = date(2099, 1, 5)
DECISION = {"decision-meeting": "OPSG_97", "decision-report_version": "1", "decision-outcome": "agreed",
            "decision-classification": "GREEN",
            "decision-minute": "The group noted the review and agreed publication.",
            "decision-actions_text": "OPSG 97/04 | dcc | 2023-07-24 | DCC to confirm its principles."}


def state(case) -> ReportState:
    refetch()
    return review_service.get_review(case).report_state


def text_of(page: str) -> str:
    """Return the page's words, tags removed and entities decoded, spaces squeezed."""
    return " ".join(unescaped(re.sub(r"<[^>]+>", " ", page)).split())


def confirm_button(page: str) -> str:
    match = re.search(r'<button type="submit" name="confirm" value="yes" class="([^"]*)">([^<]*)</button>', page)
    assert match, "no confirm button"
    return f"{match.group(1)}|{match.group(2)}"


@pytest.fixture()
def audience(app, users):
    """Three active SEC Party users besides the fixture's one, one inactive, and two OPSG members in all."""
    for number in range(3):
        factories.user(role="party", email=f"party{number}@example.org")
    factories.user(role="party", email="gone@example.org").is_active = False
    factories.user(role="opsg", email="opsg2@example.org")
    factories.meeting("OPSG_98", NEXT_MEETING, actor=users["secas"])
    db.session.commit()


# --- Submit -----------------------------------------------------------------------------------

def test_submit_shows_what_happens_and_changes_nothing_until_confirmed(client, case, as_role, audience):
    as_role("dcc")
    assert propose(client, case, client.get(url(case)).text, **{"propose-treatment": "include"}).status_code == 302
    assert save_report(client, case, classification="GREEN").status_code == 302
    etag = hidden(client.get(url(case, "report/edit")).text, "etag")
    for response in (client.get(url(case, "report/submit")),
                     client.post(url(case, "report/submit"), data={"etag": etag})):
        assert response.status_code == 200
        words = text_of(response.text)
        assert ("Version 1, classified GREEN, will be frozen and sent to the Operations Group for its meeting "
                f"OPSG_98 on {format_date(NEXT_MEETING)}") in words
        assert "You will not be able to edit it" in words
        assert re.search(r"Version 1, saved \w{3} \d{1,2} \w{3} \d{4} by DCC \(DCC\) Classification", words), words
        assert "The Operations Group (2 members) and SECAS are told" in words
        assert confirm_button(response.text) == "button|Yes, submit version 1"
        assert hidden(response.text, "etag") == etag and 'href="/incidents/' in response.text
        assert state(case) == ReportState.DRAFT
    page = follow_flash(client, client.post(url(case, "report/submit"), data={"etag": etag, "confirm": "yes"}))
    assert "Submitted version 1; it is now frozen." in page
    assert state(case) == ReportState.SUBMITTED


def test_the_editor_has_one_primary_button_and_submitting_is_styled_apart_from_saving(client, case, as_role):
    as_role("dcc")
    assert propose(client, case, client.get(url(case)).text, **{"propose-treatment": "include"}).status_code == 302
    assert save_report(client, case, classification="GREEN").status_code == 302
    page = client.get(url(case, "report/edit")).text
    buttons = {words.strip(): classes for classes, words in
               re.findall(r'<button type="submit" class="([^"]*)"[^>]*>([^<]*)</button>', page)}
    assert buttons["Save version"] == "button"
    assert buttons["Submit the saved version"] == "button secondary"
    assert [words for words, classes in buttons.items() if classes == "button"] == ["Save version"]


def test_submit_confirmation_says_what_is_missing_and_what_the_workflow_refuses(client, case, as_role, users):
    as_role("dcc")
    response = client.get(url(case, "report/submit"))
    # Nothing saved yet: the workflow's own reason, and no button that would do it (a read: 200; a POST: 409).
    refused = workflow.refusal(workflow.Step.SUBMIT_REPORT, user=users["dcc"], incident=case, review=None)
    assert response.status_code == 200 and refused is not None
    assert refused.message in text_of(response.text)
    assert 'value="yes"' not in response.text
    assert save_report(client, case, sections={**SECTIONS, "root_cause": ""}).status_code == 302
    response = client.post(url(case, "report/submit"), data={})
    assert response.status_code == 409 and "complete Root cause in the editor" in text_of(response.text)
    assert state(case) == ReportState.DRAFT
    as_role("opsg")
    assert client.get(url(case, "report/submit")).status_code == 403
    as_role("party")
    assert client.get(url(case, "report/submit")).status_code == 404


# --- Withdraw -----------------------------------------------------------------------------------

def test_withdraw_is_a_red_button_on_a_page_saying_what_happens(client, case, as_role, audience):
    walk_to_submitted(client, case, as_role)
    page = client.get(url(case)).text
    assert 'class="button warning">Withdraw version 1' in page
    response = client.post(url(case, "report/withdraw"), data={})
    assert response.status_code == 200
    words = text_of(response.text)
    assert f"Version 1 will be taken out of the pack for OPSG_98 on {format_date(NEXT_MEETING)}" in words
    assert confirm_button(response.text) == "button warning|Yes, withdraw version 1"
    assert hidden(response.text, "version") == "1"
    assert state(case) == ReportState.SUBMITTED
    # A confirmation for another version than the one waiting does nothing and says so.
    response = client.post(url(case, "report/withdraw"), data={"confirm": "yes", "version": "2"})
    assert response.status_code == 409 and "nothing was withdrawn" in text_of(response.text)
    assert state(case) == ReportState.SUBMITTED
    page = follow_flash(client, client.post(url(case, "report/withdraw"), data={"confirm": "yes", "version": "1"}))
    assert "Withdrew version 1" in page and state(case) == ReportState.DRAFT
    response = client.get(url(case, "report/withdraw"))
    assert response.status_code == 200 and "there is nothing to withdraw" in text_of(response.text)


# --- The Operations Group's decision ---------------------------------------------------------------

def test_decision_confirmation_names_meeting_version_classification_and_actions(client, case, as_role, audience,
                                                                                users):
    walk_to_submitted(client, case, as_role)
    redaction_service.mark(incident=case, passage="CSP N took longest.", reason="commercially sensitive",
                           actor=users["secas"])
    db.session.commit()
    as_role("opsg")
    response = client.post(url(case, "review/decision"), data=DECISION)
    assert response.status_code == 200
    words = text_of(response.text)
    assert ("The Operations Group's decision at OPSG_97 on Mon 26 Jun 2023 on version 1 will be recorded: agreed."
            in words)
    assert "Publication is agreed as GREEN (SEC Parties). SECAS can then publish version 1 to all 4 SEC Party users." \
        in words
    assert "OPSG 97/04 (DCC, target Mon 24 Jul 2023): DCC to confirm its principles." in words
    assert "“CSP N took longest.” becomes “[withheld: commercially sensitive]”" in words
    # Everything typed travels in hidden fields: nothing is lost going back.
    assert hidden(response.text, "decision-minute") == DECISION["decision-minute"]
    assert hidden(response.text, "decision-actions_text") == DECISION["decision-actions_text"]
    refetch()
    assert state(case) == ReportState.SUBMITTED and db.session.scalar(sa.select(sa.func.count(Decision.id))) == 0
    assert not [r for r in redaction_service.for_version(report_service.latest(review_service.get_review(case)))
                if r.decision_id is not None]  # the savepoint was undone

    back = client.post(url(case, "review/decision"), data={**DECISION, "confirm": "back"})
    assert back.status_code == 200 and DECISION["decision-minute"] in back.text
    assert 'value="OPSG_97" selected' in back.text or 'selected value="OPSG_97"' in back.text
    assert state(case) == ReportState.SUBMITTED

    page = follow_flash(client, client.post(url(case, "review/decision"), data={**DECISION, "confirm": "yes"}))
    assert "Recorded the OPSG_97 decision: agreed." in page
    assert state(case) == ReportState.AGREED


def test_actions_raised_name_their_owner_organisation_in_words_not_its_code(client, case, as_role):
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    actions = "OPSG 97/05 | opsg | TBC | The group to revisit the principles.\nOPSG 97/06 | secas | 24/07/2023 | Chase."
    response = client.post(url(case, "review/decision"), data={**DECISION, "decision-actions_text": actions})
    words = text_of(response.text)
    assert "OPSG 97/05 (Operations Group, target TBC): The group to revisit the principles." in words
    assert "OPSG 97/06 (SECAS, target Mon 24 Jul 2023): Chase." in words
    page = follow_flash(client, client.post(url(case, "review/decision"), data={
        **DECISION, "decision-actions_text": actions, "confirm": "yes"}))
    assert "(Operations Group, target TBC)" in text_of(page) and "(OPSG, target" not in page


def test_a_decision_the_service_would_refuse_is_sent_back_to_the_form_not_confirmed(client, case, as_role, users):
    factories.meeting("OPSG_300", date(2099, 6, 30), actor=users["secas"])
    db.session.commit()
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    response = client.post(url(case, "review/decision"), data={**DECISION, "decision-meeting": "OPSG_300"})
    assert response.status_code == 422 and "which is still to come" in response.text
    assert 'value="yes"' not in response.text
    response = client.post(url(case, "review/decision"), data={**DECISION, "decision-classification": ""})
    assert response.status_code == 422 and "Say under which classification" in response.text
    response = client.post(url(case, "review/decision"), data={
        **DECISION, "decision-outcome": "deferred", "decision-classification": ""})
    assert response.status_code == 200
    assert "Version 1 stays waiting for the Operations Group's decision at a later meeting." in text_of(response.text)
    assert state(case) == ReportState.SUBMITTED


def test_the_decision_form_starts_with_the_versions_classification(client, case, as_role):
    as_role("dcc")
    propose(client, case, client.get(url(case)).text, **{"propose-treatment": "include"})
    save_report(client, case, classification="WHITE")
    client.post(url(case, "report/submit"), data={"confirm": "yes"})
    as_role("opsg")
    page = client.get(url(case)).text
    assert re.search(r'<input checked[^>]*name="decision-classification"[^>]*value="WHITE"', page) or \
        re.search(r'<input[^>]*name="decision-classification"[^>]*value="WHITE"[^>]*checked', page)


# --- Publication ------------------------------------------------------------------------------

def test_publish_names_version_classification_recipients_and_withheld_passages(client, case, as_role, audience,
                                                                               users):
    walk_to_submitted(client, case, as_role)
    redaction_service.mark(incident=case, passage="CSP N took longest.", reason="commercially sensitive",
                           actor=users["secas"])
    db.session.commit()
    as_role("opsg")
    assert record_decision(client, case).status_code == 302
    as_role("secas")
    page = client.get(url(case)).text
    assert hidden(page, "publish-classification") == "GREEN" and hidden(page, "publish-version") == "1"
    for response in (client.get(url(case, "review/publication")),
                     client.post(url(case, "review/publication"), data={"publish-classification": "GREEN",
                                                                        "publish-version": "1"})):
        assert response.status_code == 200
        words = text_of(response.text)
        assert (f"The report on {case.reference}, version 1, classified GREEN, will be published to "
                "all 4 SEC Party users, as the Operations Group agreed at OPSG_97 on Mon 26 Jun 2023.") in words
        assert "1 passage withheld from SEC Parties" in words
        assert "“CSP N took longest.” becomes “[withheld: commercially sensitive]”" in words
        assert confirm_button(response.text) == "button|Yes, publish version 1 to SEC Parties"
        assert state(case) == ReportState.AGREED
    page = follow_flash(client, client.post(url(case, "review/publication"), data={
        "publish-classification": "GREEN", "publish-version": "1", "confirm": "yes"}))
    assert "Published version 1 to SEC Parties as GREEN." in page
    assert state(case) == ReportState.PUBLISHED
    response = client.post(url(case, "review/publication"), data={})
    assert response.status_code == 409
    assert "The Operations Group has not agreed this report for publication" in text_of(response.text)


def test_publish_refusals_come_from_the_workflow_and_roles(client, case, as_role, users):
    as_role("secas")
    response = client.get(url(case, "review/publication"))
    refused = workflow.refusal(workflow.Step.PUBLISH, user=users["secas"], incident=case, review=None)
    assert response.status_code == 200 and refused is not None
    assert refused.message in text_of(response.text) and 'value="yes"' not in response.text
    for role, status in (("dcc", 403), ("opsg", 403), ("party", 404)):
        as_role(role)
        assert client.get(url(case, "review/publication")).status_code == status
        assert client.post(url(case, "review/publication"), data={"confirm": "yes"}).status_code == status


def test_a_decision_without_classification_leaves_the_choice_pre_filled_with_the_versions(client, case, as_role):
    as_role("dcc")
    propose(client, case, client.get(url(case)).text, **{"propose-treatment": "include"})
    save_report(client, case, classification="GREEN")
    client.post(url(case, "report/submit"), data={"confirm": "yes"})
    as_role("opsg")
    assert record_decision(client, case, **{"decision-classification": "WHITE"}).status_code == 302
    refetch()
    review_service.get_review(case).decisions[-1].classification = None  # recorded before the group named one
    db.session.commit()
    as_role("secas")
    page = client.get(url(case)).text
    checked = re.findall(r'<input[^>]*name="publish-classification"[^>]*>', page)
    assert len(checked) == 2 and [tag for tag in checked if "checked" in tag and 'value="GREEN"' in tag]
    response = client.get(url(case, "review/publication"))
    assert response.status_code == 200 and "classified GREEN" in text_of(response.text)
    response = client.post(url(case, "review/publication"), data={"publish-classification": "WHITE",
                                                                  "publish-version": "1"})
    assert response.status_code == 200 and "classified WHITE" in text_of(response.text)
    assert hidden(response.text, "publish-classification") == "WHITE"
    assert state(case) == ReportState.AGREED
    page = follow_flash(client, client.post(url(case, "review/publication"), data={
        "publish-classification": "WHITE", "publish-version": "1", "confirm": "yes"}))
    assert "Published version 1 to SEC Parties as WHITE." in page


def test_publish_confirmation_offers_nothing_for_a_classification_the_service_would_refuse(client, case, as_role):
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    assert record_decision(client, case).status_code == 302  # agreed as GREEN
    as_role("secas")
    for sent in ("WHITE", "AMBER", "RED"):
        response = client.post(url(case, "review/publication"), data={"publish-classification": sent,
                                                                      "publish-version": "1"})
        assert response.status_code == 409, sent
        assert 'value="yes"' not in response.text
        assert f"published as agreed, not as {sent}" in text_of(response.text)
    refetch()
    review_service.get_review(case).decisions[-1].classification = None  # recorded before the group named one
    db.session.commit()
    for sent in ("AMBER", "RED", "PURPLE", ""):
        response = client.post(url(case, "review/publication"), data={"publish-classification": sent,
                                                                      "publish-version": "1"})
        assert response.status_code == 409, sent
        assert 'value="yes"' not in response.text and "choose GREEN or WHITE" in text_of(response.text)
    assert state(case) == ReportState.AGREED


# --- CSRF ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_with_csrf_on_the_confirmation_carries_a_token_and_a_post_without_one_is_refused(client, case, users):
    login_page = client.get("/login").text
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                "csrf_token": hidden(login_page, "csrf_token")})
    editor = client.get(url(case, "report/edit")).text
    client.post(url(case, "report/edit"), data={**SECTIONS, "classification": "GREEN", "etag": hidden(editor, "etag"),
                                                "csrf_token": hidden(editor, "csrf_token")})
    assert client.post(url(case, "report/submit"), data={"confirm": "yes"}).status_code == 400
    page = client.get(url(case, "report/submit")).text
    assert state(case) == ReportState.DRAFT
    response = client.post(url(case, "report/submit"), data={
        "csrf_token": hidden(page, "csrf_token"), "etag": hidden(page, "etag"), "confirm": "yes"})
    assert response.status_code == 302 and state(case) == ReportState.SUBMITTED


def test_with_csrf_on_the_decision_goes_through_its_confirmation_and_back_with_the_forms_token(app, client, case,
                                                                                                as_role):
    walk_to_submitted(client, case, as_role)
    as_role("opsg")
    app.config["WTF_CSRF_ENABLED"] = True  # from here on, as in production
    # The token of another form of the page (here the log-out button's): the session's token all the same.
    fields = {**DECISION, "csrf_token": hidden(client.get(url(case)).text, "csrf_token")}
    assert client.post(url(case, "review/decision"), data=DECISION).status_code == 400  # no token: refused
    shown = client.post(url(case, "review/decision"), data=fields)
    assert shown.status_code == 200 and confirm_button(shown.text) == "button|Yes, record the decision"
    carried = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                              shown.text.split('class="confirm-form"', 1)[1]))
    assert carried["csrf_token"]  # a token made for the page, whichever form's token was sent
    carried = {name: unescaped(value) for name, value in carried.items()}
    back = client.post(url(case, "review/decision"), data={**carried, "confirm": "back"})
    assert back.status_code == 200 and DECISION["decision-minute"] in back.text
    # As a browser sends the form: with its own token; the confirmation carries a working one too.
    own = {**DECISION, "decision-csrf_token": hidden(back.text, "decision-csrf_token")}
    shown = client.post(url(case, "review/decision"), data=own)
    assert shown.status_code == 200 and hidden(shown.text, "csrf_token")
    page = follow_flash(client, client.post(url(case, "review/decision"), data={**carried, "confirm": "yes"}))
    assert "Recorded the OPSG_97 decision: agreed." in page and state(case) == ReportState.AGREED

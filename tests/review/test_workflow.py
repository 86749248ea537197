"""The workflow rules: each step allowed or refused with its one message, and pages, API, services and dashboard agree."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest

from incidents.dashboard import service as dashboard_service
from incidents.errors import ConflictError, PermissionDenied, ServiceError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.report.models import Classification, ReportVersion
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.models import (
    Decision,
    DecisionOutcome,
    ExclusionProposal,
    ExclusionState,
    ReportState,
    Review,
)
from incidents.review.workflow import Step
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories

SECTIONS = {"summary": "Carrier outage.", "root_cause": "Carrier failure.", "impact": "All cohorts.",
            "lessons_learned": "", "actions": ""}
LATER = datetime(2023, 7, 1, 9, 0, tzinfo=UTC)
# The role that may take each step (the others are refused with the step's one message).
ACTOR = {Step.PROPOSE: "dcc", Step.ANSWER_REQUEST: "dcc", Step.REVIEW_EXCLUSION: "secas",
         Step.SUMMARY_REPORT: "dcc", Step.WRITE_REPORT: "dcc", Step.SUBMIT_REPORT: "dcc",
         Step.WITHDRAW_REPORT: "dcc", Step.RECORD_DECISION: "opsg", Step.PUBLISH: "secas", Step.COMMENT: "opsg"}
ALL_STATES = list(itertools.product(ExclusionState, ReportState))


def _in_state(users: dict[str, Any], now: datetime, exclusion: ExclusionState, report: ReportState,
              *, summary_sent: bool = False) -> Incident:
    """Log an incident whose review stands in the given states, with the rows those states imply."""
    incident = factories.incident(actor=users["dcc"], now=now)
    factories.meeting("OPSG_96", date(2023, 5, 30), actor=users["secas"])
    review = Review(incident_id=incident.id, incident_category=incident.category, exclusion_state=exclusion,
                    report_state=report, created_at=now, updated_at=now,
                    summary_submitted_at=now if summary_sent else None)
    db.session.add(review)
    if exclusion != ExclusionState.NOT_PROPOSED:
        db.session.add(ExclusionProposal(review=review, round=1, exclude=exclusion != ExclusionState.INCLUDED,
                                         rationale="Storm.", proposed_at=now))
    if report != ReportState.NOT_STARTED:
        frozen = report != ReportState.DRAFT
        version = ReportVersion(review=review, number=1, is_frozen=frozen, classification=Classification.AMBER,
                                sections=SECTIONS, created_at=now, submitted_at=now if frozen else None)
        db.session.add(version)
        if report in (ReportState.AGREED, ReportState.PUBLISHED):
            db.session.add(Decision(review=review, meeting="OPSG_97", meeting_on=date(2023, 5, 26),
                                    outcome=DecisionOutcome.AGREED, minute="Agreed.", report_version=version,
                                    recorded_at=now))
    db.session.commit()
    return incident


def _refusal(step: Step, user: Any, incident: Incident) -> workflow.Refusal | None:
    return workflow.refusal(step, user=user, incident=incident, review=review_service.get_review(incident))


# --- The rules themselves ---------------------------------------------------------------------

@pytest.mark.parametrize(("step", "role", "message"), [
    (Step.PROPOSE, "secas", "Only the DCC proposes the PMR treatment."),
    (Step.ANSWER_REQUEST, "opsg", "Only the DCC proposes the PMR treatment."),
    (Step.REVIEW_EXCLUSION, "dcc", "Only SECAS reviews exclusions."),
    (Step.REVIEW_EXCLUSION, "opsg", "Only SECAS reviews exclusions."),
    (Step.SUMMARY_REPORT, "opsg", "Only the DCC records the Summary Report."),
    (Step.WRITE_REPORT, "secas", "Only the DCC writes the Review Report."),
    (Step.SUBMIT_REPORT, "opsg", "Only the DCC submits the Review Report."),
    (Step.WITHDRAW_REPORT, "secas", "Only the DCC withdraws the Review Report it submitted."),
    (Step.RECORD_DECISION, "dcc",
     "Only SECAS (as secretary) or an OPSG member records Operations Group decisions."),
    (Step.PUBLISH, "opsg", "Only SECAS publishes reports to SEC Parties."),
    (Step.COMMENT, "party", "You cannot comment on reviews."),
])
def test_a_role_that_may_never_take_a_step_is_forbidden_with_the_steps_message(app, users, now, step, role,
                                                                               message):
    incident = factories.incident(actor=users["dcc"], now=now)
    refused = _refusal(step, users[role], incident)
    assert refused == workflow.Refusal(message, is_forbidden=True)
    assert isinstance(refused.error(), PermissionDenied) and refused.error().detail == message
    with pytest.raises(PermissionDenied, match=message.replace("(", r"\(").replace(")", r"\)")):
        workflow.require_role(step, users[role])


@pytest.mark.parametrize(("step", "exclusion", "report", "says"), [
    (Step.PROPOSE, ExclusionState.PENDING, ReportState.DRAFT, "SECAS is reviewing the current proposal"),
    (Step.PROPOSE, ExclusionState.AGREED, ReportState.DRAFT, "cannot be re-proposed"),
    (Step.PROPOSE, ExclusionState.DISAGREED, ReportState.PUBLISHED, "the PMR treatment can no longer change"),
    (Step.ANSWER_REQUEST, ExclusionState.INCLUDED, ReportState.DRAFT, "there is no request to answer"),
    (Step.REVIEW_EXCLUSION, ExclusionState.INCLUDED, ReportState.DRAFT, "the DCC must propose an exclusion first"),
    (Step.WRITE_REPORT, ExclusionState.INCLUDED, ReportState.AGREED, "SECAS must publish it"),
    # Once published, a correction is a new version (the published edition stays frozen): writing is open again.
    (Step.WRITE_REPORT, ExclusionState.INCLUDED, ReportState.PUBLISHED, None),
    (Step.SUBMIT_REPORT, ExclusionState.INCLUDED, ReportState.NOT_STARTED, "no draft to submit"),
    (Step.SUBMIT_REPORT, ExclusionState.INCLUDED, ReportState.SUBMITTED,
     "version 1 is waiting for the Operations Group's decision. Withdraw it first"),
    (Step.WRITE_REPORT, ExclusionState.INCLUDED, ReportState.SUBMITTED, "Withdraw it first"),
    (Step.WRITE_REPORT, ExclusionState.INCLUDED, ReportState.DEFERRED, "Withdraw it first"),
    (Step.WITHDRAW_REPORT, ExclusionState.INCLUDED, ReportState.DRAFT, "there is nothing to withdraw"),
    (Step.WITHDRAW_REPORT, ExclusionState.INCLUDED, ReportState.AGREED, "there is nothing to withdraw"),
    (Step.WITHDRAW_REPORT, ExclusionState.INCLUDED, ReportState.DEFERRED, None),
    (Step.RECORD_DECISION, ExclusionState.INCLUDED, ReportState.DRAFT, "the DCC must submit the Review Report first"),
    (Step.RECORD_DECISION, ExclusionState.NOT_PROPOSED, ReportState.SUBMITTED,
     "The DCC has not stated the PMR treatment yet"),
    # As at OPSG_97: the group decides on publication while SECAS still questions the DCC's exclusion.
    (Step.RECORD_DECISION, ExclusionState.INFORMATION_REQUESTED, ReportState.SUBMITTED, None),
    (Step.RECORD_DECISION, ExclusionState.PENDING, ReportState.SUBMITTED, None),
    (Step.PUBLISH, ExclusionState.INCLUDED, ReportState.DEFERRED, "record an 'agreed' decision first"),
    (Step.SUMMARY_REPORT, ExclusionState.INCLUDED, ReportState.DRAFT, None),
])
def test_a_step_out_of_order_is_refused_for_now_saying_what_comes_first(app, users, now, step, exclusion, report,
                                                                        says):
    incident = _in_state(users, now, exclusion, report)
    refused = _refusal(step, users[ACTOR[step]], incident)
    if says is None:
        assert refused is None
        return
    assert refused is not None and not refused.is_forbidden and says in refused.message
    assert isinstance(refused.error(), ConflictError)


def test_the_summary_report_waits_for_resolution_and_may_be_revised_once_sent(app, users, now):
    open_incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status="open", cohorts=[])
    assert "not resolved yet" in _refusal(Step.SUMMARY_REPORT, users["dcc"], open_incident).message
    assert not workflow.summary_pending(open_incident, None)
    incident = factories.incident(actor=users["dcc"], now=now)
    assert _refusal(Step.SUMMARY_REPORT, users["dcc"], incident) is None
    assert workflow.summary_pending(incident, None)
    review_service.mark_summary_submitted(incident=incident, actor=users["dcc"], now=now)
    assert not workflow.summary_pending(incident, review_service.get_review(incident))
    assert _refusal(Step.SUMMARY_REPORT, users["dcc"], incident) is None  # a revision is a new version


def test_the_review_report_waits_for_resolution_like_the_summary_report(app, users, now):
    open_incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status="open", cohorts=[])
    for step in (Step.WRITE_REPORT, Step.SUBMIT_REPORT):
        refused = _refusal(step, users["dcc"], open_incident)
        assert refused is not None and not refused.is_forbidden, step
    assert "not resolved yet; the Review Report follows resolution" in _refusal(
        Step.WRITE_REPORT, users["dcc"], open_incident).message
    # It is still listed as who acts next on the review page, but it is not a step to take now.
    assert [s.step for s in workflow.next_steps(open_incident, None)] == [Step.PROPOSE, Step.WRITE_REPORT]
    assert [s.step for s in workflow.to_do(open_incident, None, today=now.date())] == [Step.PROPOSE]
    with pytest.raises(ConflictError, match="Review Report follows resolution"):
        report_service.save_draft(incident=open_incident, sections=SECTIONS, classification=Classification.AMBER,
                                  actor=users["dcc"], now=now)


def test_secas_chases_the_summary_report_only_once_it_is_late(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)  # resolved Tue 4 Apr 2023: due Thu 6 Apr
    def chase(today: date) -> list[str]:
        return [s.what for s in workflow.to_do(incident, None, today=today) if s.who == "SECAS"]
    assert chase(date(2023, 4, 6)) == []
    assert chase(date(2023, 4, 7)) == ["Chase the DCC for its Major Incident Summary Report: it is late"]
    review_service.mark_summary_submitted(incident=incident, actor=users["dcc"], now=now)
    assert [s.what for s in workflow.to_do(incident, review_service.get_review(incident), today=date(2023, 4, 7))
            if s.who == "SECAS"] == []


def test_an_incident_without_a_review_offers_no_review_step(app, users, now):
    minor = factories.incident(actor=users["dcc"], now=now, category=3)
    for step in (Step.PROPOSE, Step.SUMMARY_REPORT, Step.WRITE_REPORT, Step.SUBMIT_REPORT, Step.COMMENT):
        refused = _refusal(step, users["admin"], minor)
        assert refused is not None and "is not declared a Major Incident" in refused.message, step
    assert workflow.next_steps(minor, None) == []


@pytest.mark.parametrize(("exclusion", "report"), ALL_STATES)
def test_an_administrator_may_take_exactly_the_steps_someone_may_take(app, users, now, exclusion, report):
    review = Review(exclusion_state=exclusion, report_state=report)
    incident = factories.incident(actor=users["dcc"], now=now)
    for step, role in ACTOR.items():
        by_admin = workflow.STATE_RULES[step](incident, review)
        assert (workflow.refusal(step, user=users["admin"], incident=incident, review=review) is None) == (
            by_admin is None)
        assert workflow.refusal(step, user=users[role], incident=incident, review=review) == (
            None if by_admin is None else workflow.Refusal(by_admin, is_forbidden=False))


# --- The services refuse with the same message -------------------------------------------------

def _call(step: Step, incident: Incident, actor: Any, now: datetime) -> None:
    if step in (Step.PROPOSE, Step.ANSWER_REQUEST):
        review_service.propose(incident=incident, exclude=False, rationale="Counted.", response="Answered.",
                               actor=actor, now=now)
    elif step == Step.REVIEW_EXCLUSION:
        review_service.review_exclusion(incident=incident, outcome="agreed", comment="Ok.", actor=actor, now=now)
    elif step == Step.SUMMARY_REPORT:
        review_service.mark_summary_submitted(incident=incident, actor=actor, now=now)
    elif step == Step.WRITE_REPORT:
        report_service.save_draft(incident=incident, sections={**SECTIONS, "impact": "Changed."},
                                  classification="AMBER", actor=actor, now=now)
    elif step == Step.SUBMIT_REPORT:
        report_service.submit(incident=incident, actor=actor, now=now)
    elif step == Step.WITHDRAW_REPORT:
        report_service.withdraw(incident=incident, actor=actor, now=now)
    elif step == Step.RECORD_DECISION:
        review_service.record_decision(incident=incident, meeting="OPSG_96", report_version=1, outcome="deferred",
                                       minute="Deferred.", actor=actor, now=LATER)
    elif step == Step.PUBLISH:
        review_service.publish(incident=incident, classification="GREEN", actor=actor, now=now)
    elif step == Step.COMMENT:
        review_service.add_comment(incident=incident, body="A comment.", actor=actor, now=now)


SERVICE_STATES = [
    (ExclusionState.NOT_PROPOSED, ReportState.NOT_STARTED),
    (ExclusionState.PENDING, ReportState.DRAFT),
    (ExclusionState.INFORMATION_REQUESTED, ReportState.NOT_AGREED),
    (ExclusionState.INCLUDED, ReportState.SUBMITTED),
    (ExclusionState.PENDING, ReportState.DEFERRED),
    (ExclusionState.AGREED, ReportState.AGREED),
    (ExclusionState.DISAGREED, ReportState.PUBLISHED),
]


@pytest.mark.parametrize(("exclusion", "report"), SERVICE_STATES)
def test_each_service_refuses_exactly_when_the_workflow_does_with_its_message(app, users, now, exclusion, report):
    for step, role in ACTOR.items():
        if step == Step.ANSWER_REQUEST:
            continue  # an answer is a proposal: the service guards it as Step.PROPOSE
        incident = _in_state(users, now, exclusion, report)
        expected = _refusal(step, users[role], incident)
        try:
            _call(step, incident, users[role], now)
        except ServiceError as exc:
            db.session.rollback()
            assert expected is not None, (step, exc.detail)
            assert isinstance(exc, ConflictError) and exc.detail == expected.message, step
        else:
            db.session.rollback()
            assert expected is None, (step, expected)
        if step == Step.COMMENT:
            continue  # every reader may comment; anyone else is told nothing of the review (404)
        forbidden = next(r for r in ("dcc", "secas", "opsg") if workflow.role_refusal(step, users[r]))
        with pytest.raises(PermissionDenied) as refused:
            _call(step, incident, users[forbidden], now)
        assert refused.value.detail == workflow.ROLE_RULES[step][1]
        db.session.rollback()


# --- Pages and the API ask the same rules ---------------------------------------------------------

# What a page shows for each offered step (a form posting there, or a link to the editor).
PAGE_MARKS = {
    "propose": "/review/proposal", "review": "/review/exclusion-review", "summary": "/summary-report#write-heading",
    "decide": "/review/decision", "publish": "/review/publication", "comment": "/review/comments",
    "write": "/report/edit", "submit": "/report/submit",
}


@pytest.mark.parametrize(("exclusion", "report"), SERVICE_STATES)
def test_the_review_page_offers_exactly_the_allowed_steps(app, client, auth, users, now, exclusion, report):
    principle_service.seed_defaults()
    incident = _in_state(users, now, exclusion, report)
    reference = incident.reference
    for role in ("dcc", "secas", "opsg", "admin"):
        auth.logout()
        auth.login(users[role])
        page = client.get(f"/incidents/{reference}/review").text
        offers = workflow.offers(user=users[role], incident=incident, review=review_service.get_review(incident))
        for name, mark in PAGE_MARKS.items():
            assert (f'action="/incidents/{reference}{mark}"' in page or f'href="/incidents/{reference}{mark}"'
                    in page) == getattr(offers, name), (role, name)
        assert bool(offers.decision_waits) == ("The DCC has not stated the PMR treatment yet" in page), role


def test_the_report_editor_closes_with_the_workflows_message(app, client, auth, users, now):
    incident = _in_state(users, now, ExclusionState.INCLUDED, ReportState.AGREED)
    auth.login(users["dcc"])
    response = client.get(f"/incidents/{incident.reference}/report/edit")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text.replace("&#39;", "'")
    assert _refusal(Step.WRITE_REPORT, users["dcc"], incident).message in page


@pytest.mark.parametrize(("method", "path", "body", "step"), [
    ("PUT", "exclusion", {"exclude": False}, Step.PROPOSE),
    ("POST", "exclusion/reviews", {"outcome": "agreed", "comment": "Ok."}, Step.REVIEW_EXCLUSION),
    ("POST", "report/submit", None, Step.SUBMIT_REPORT),
    ("POST", "report/withdraw", None, Step.WITHDRAW_REPORT),
    ("POST", "decisions", {"meeting": "OPSG_98", "report_version": 1, "outcome": "agreed", "classification": "GREEN",
                           "minute": "Ok."}, Step.RECORD_DECISION),
    ("POST", "publish", {"classification": "GREEN"}, Step.PUBLISH),
])
def test_the_api_answers_403_for_may_not_and_409_for_not_now_with_the_workflows_message(
        app, client, users, now, method, path, body, step):
    # Published: no step but writing a correction is open, so each role is refused, for good (403) or for now (409).
    incident = _in_state(users, now, ExclusionState.INCLUDED, ReportState.PUBLISHED, summary_sent=True)
    tokens = {role: user_service.issue_token(user=users[role]) for role in ("dcc", "secas", "opsg")}
    db.session.commit()
    review = review_service.get_review(incident)
    for role, token in tokens.items():
        expected = _refusal(step, users[role], incident)
        assert expected is not None, (step, role)
        headers = {"Authorization": f"Bearer {token}", "If-Match": review_service.review_etag(review)
                   if path == "exclusion" else report_service.report_etag(review)}
        response = client.open(f"/api/v1/incidents/{incident.reference}/{path}", method=method, json=body,
                               headers=headers)
        assert response.status_code == (403 if expected.is_forbidden else 409), (role, response.get_json())
        assert response.get_json()["detail"] == expected.message


# --- The dashboard's "what you must do next" --------------------------------------------------------

@pytest.mark.parametrize(("exclusion", "report"), ALL_STATES)
def test_the_dashboard_looks_for_a_partys_steps_exactly_where_the_workflow_has_them(app, users, now, exclusion,
                                                                                     report):
    incident = factories.incident(actor=users["dcc"], now=now)
    sent = Review(exclusion_state=exclusion, report_state=report, summary_submitted_at=now)
    steps = workflow.next_steps(incident, sent)
    for party in workflow.PARTIES:
        assert dashboard_service.WAITING[party].matches(report, exclusion) == any(s.who == party for s in steps)
    # Until the Summary Report is recorded as sent, it waits on the DCC and SECAS whatever the review's states.
    unsent = workflow.next_steps(incident, Review(exclusion_state=exclusion, report_state=report))
    assert [s.who for s in unsent if s not in steps] == ["DCC", "SECAS"]
    assert all(dashboard_service.WAITING[party].summary for party in ("DCC", "SECAS"))
    assert dashboard_service.WAITING["DCC"].matches(None, None)
    assert [s.who for s in workflow.next_steps(incident, None)] == ["DCC", "SECAS", "DCC", "DCC"]


def test_the_dashboard_lists_each_roles_next_steps_as_the_workflow_gives_them(app, users, now):
    made = {state: _in_state(users, now, *state) for state in SERVICE_STATES}
    for role, parties in ((Role.DCC, {"DCC"}), (Role.SECAS, {"SECAS"}), (Role.OPSG, {"OPSG"})):
        tasks = dashboard_service.tasks_for(role, today=now.date())
        expected = sorted((incident.reference, step.what) for incident in made.values()
                          for step in workflow.to_do(incident, review_service.get_review(incident), today=now.date())
                          if step.who in parties)
        assert sorted((t.reference, t.what) for t in tasks) == expected, role
        assert expected, role


@pytest.mark.parametrize(("exclusion", "report"), ALL_STATES)
def test_the_steps_to_do_are_exactly_those_the_workflow_allows_now(app, users, now, exclusion, report):
    """In every state, each step listed to do is allowed to its party, and each allowed next step is listed."""
    incident = _in_state(users, now, exclusion, report)
    review = review_service.get_review(incident)
    listed = workflow.to_do(incident, review, today=LATER.date())
    for step in listed:
        assert step.step is not None and workflow.is_allowed(step.step, user=users[step.who.lower()],
                                                              incident=incident, review=review), step
    assert len({(s.who, s.step) for s in listed}) == len(listed)
    for step in workflow.next_steps(incident, review):
        allowed = step.step is not None and workflow.is_allowed(step.step, user=users[step.who.lower()],
                                                                 incident=incident, review=review)
        assert allowed == any(s.who == step.who and s.step == step.step for s in listed), step
    # The Operations Group is never asked to decide before the DCC has stated the PMR treatment.
    if exclusion == ExclusionState.NOT_PROPOSED:
        assert all(s.step != Step.RECORD_DECISION for s in listed)


@pytest.mark.parametrize("party", workflow.PARTIES)
def test_what_holds_someone_up_is_where_the_dashboard_looks_for_it(app, users, now, party):
    incident = factories.incident(actor=users["dcc"], now=now)
    for exclusion, report in ALL_STATES:
        steps = workflow.next_steps(incident, Review(exclusion_state=exclusion, report_state=report,
                                                     summary_submitted_at=now))
        holding = any(s.who == party and s.holds_up for s in steps)
        matched = any((e is None or exclusion in e) and (r is None or report in r)
                      for e, r in workflow.holds_up_states(party))
        assert holding == matched, (exclusion, report)

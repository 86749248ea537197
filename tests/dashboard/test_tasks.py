"""'What you must do next': only steps the workflow allows now, each once, by urgency, each linking to its page."""
from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from incidents.dashboard import service as dashboard_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.models import ReviewOutcome
from incidents.review.workflow import Step
from incidents.rules import service as rules_service
from incidents.timeutil import format_date, local_date, utcnow
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories
from tests.conftest import ROLES
from tests.document import builders

TASK = re.compile(r'<li class="task[^"]*" data-who="(\w+)" data-step="(\w+)" data-reference="(\w+)">\s*'
                  r'(?:<span class="tag">\w+</span>\s*)?<a class="task-what" href="([^"]+)">')
# What the page a task links to must offer for its step (the form that takes it).
OFFERED = {
    Step.SUMMARY_REPORT: 'id="summary-form"',
    Step.PROPOSE: 'action="/incidents/{ref}/review/proposal',
    Step.ANSWER_REQUEST: 'action="/incidents/{ref}/review/proposal',
    Step.REVIEW_EXCLUSION: 'action="/incidents/{ref}/review/exclusion-review',
    Step.WRITE_REPORT: 'name="summary"',
    Step.RECORD_DECISION: 'action="/incidents/{ref}/review/decision',
    Step.PUBLISH: 'action="/incidents/{ref}/review/publication',
    Step.COMMENT: 'action="/incidents/{ref}/review/comments',
}


def listed(page: str) -> list[tuple[str, Step, str, str]]:
    """Return each task on a dashboard page as (who, step, reference, link), in page order."""
    section = page[page.index('id="tasks-heading"'):page.index('id="measures-heading"')]
    return [(who, Step(step), ref, html.unescape(href)) for who, step, ref, href in TASK.findall(section)]


def _incident(reference: str) -> Incident:
    return db.session.scalars(db.select(Incident).where(Incident.reference == reference)).one()


def _check_allowed(tasks: list[tuple[str, Step, str, str]], people: dict[str, Any], today: date) -> None:
    """Assert each task is a step the workflow allows its party now, and listed once."""
    assert len(set(tasks)) == len(tasks), tasks
    for who, step, reference, _ in tasks:
        incident = _incident(reference)
        review = review_service.get_review(incident)
        assert workflow.is_allowed(step, user=people[who.lower()], incident=incident, review=review), (who, step,
                                                                                                       reference)
        assert any(s.who == who and s.step == step for s in workflow.to_do(incident, review, today=today))


# --- The demo: every role ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_task_on_each_demo_dashboard_is_allowed_now_and_its_link_offers_it(
        app, browsers: dict[str, FlaskClient], role):
    db.session.expire_all()
    people = {r: user_service.find_by_email(f"{r}@demo.example") for r in ROLES}
    client = browsers[role]
    page = client.get("/").text
    if role == "party":
        assert "What you must do next" not in page
        return
    tasks = listed(page)
    assert tasks, role
    if role != "admin":
        assert {who for who, *_ in tasks} == {role.upper()}
    today = date.today()
    _check_allowed(tasks, people, today)
    if role == "admin":  # the administrator may take every step someone may take
        for who, step, reference, _ in tasks:
            incident = _incident(reference)
            assert workflow.is_allowed(step, user=people["admin"], incident=incident,
                                       review=review_service.get_review(incident))
    for who, step, reference, link in tasks:
        # The link goes to the page where the step is taken, and that page offers it to the person who must act.
        actor = browsers[who.lower()]
        response = actor.get(link.split("#")[0])
        assert response.status_code == 200, (link, response.status_code)
        assert OFFERED[step].format(ref=reference) in response.text, (step, link)
        anchor = link.partition("#")[2]
        assert not anchor or f'id="{anchor}"' in response.text, link


def test_the_demo_dcc_is_not_asked_to_write_a_review_report_for_its_open_incident(app, browsers):
    still_open = db.session.scalars(db.select(Incident).where(Incident.resolved_at.is_(None),
                                                              Incident.is_major.is_(True))).all()
    assert still_open
    tasks = listed(browsers["dcc"].get("/").text)
    for incident in still_open:
        assert [step for _, step, ref, _ in tasks if ref == incident.reference] in ([], [Step.PROPOSE])
    # A fresh question from SECAS comes before deadlines weeks away.
    steps = [step for _, step, _, _ in tasks]
    assert Step.ANSWER_REQUEST in steps and Step.WRITE_REPORT in steps
    assert steps.index(Step.ANSWER_REQUEST) < steps.index(Step.WRITE_REPORT)


# --- States built with the services ------------------------------------------------------------------------------

def _tasks(role: Role, today: date) -> list[dashboard_service.Task]:
    return dashboard_service.tasks_for(role, today=today, limit=dashboard_service.TASKS_SHOWN,
                                       rows=dashboard_service.state_rows())


def test_an_open_incident_gives_the_dcc_no_report_task_until_it_is_resolved(app, client, auth, users, now):
    start = datetime(2023, 5, 30, 8, 0, tzinfo=UTC)
    incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status="open", cohorts=[],
                                  started_at=start, detected_at=start)
    db.session.commit()
    mine = [t for t in _tasks(Role.DCC, now.date()) if t.reference == incident.reference]
    # Only the PMR treatment can be stated yet: no Summary or Review Report before resolution, and nothing twice.
    assert [t.step for t in mine] == [Step.PROPOSE]
    assert [t.step for t in _tasks(Role.SECAS, now.date()) if t.reference == incident.reference] == []
    refused = workflow.refusal(Step.WRITE_REPORT, user=users["dcc"], incident=incident, review=None)
    assert refused is not None and "not resolved yet" in refused.message
    # The review page says why instead of offering the editor, and the dashboard does not list it.
    auth.login(users["dcc"])
    review_page = client.get(f"/incidents/{incident.reference}/review").text
    assert "the Review Report follows resolution" in review_page and "Start writing the report" not in review_page
    listed_here = [(step, ref) for _, step, ref, _ in listed(client.get("/").text) if ref == incident.reference]
    assert listed_here == [(Step.PROPOSE, incident.reference)]

    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(
        resolved_at=start + timedelta(hours=3)), actor=users["dcc"], expected_version=incident.version, now=now)
    db.session.commit()
    mine = {t.step: t for t in _tasks(Role.DCC, now.date()) if t.reference == incident.reference}
    assert set(mine) == {Step.SUMMARY_REPORT, Step.PROPOSE, Step.WRITE_REPORT}
    # Resolved Tue 30 May 2023: Summary Report due Thu 1 Jun (today), Review Report 20 Working Days after.
    assert mine[Step.SUMMARY_REPORT].due_on == date(2023, 6, 1)
    assert mine[Step.SUMMARY_REPORT].deadline_note == "due today"
    assert mine[Step.WRITE_REPORT].due_on == date(2023, 6, 27)
    assert mine[Step.WRITE_REPORT].deadline_note == "18 Working Days left"


def test_the_group_is_not_asked_to_decide_before_the_dcc_states_the_pmr_treatment(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    db.session.commit()
    assert [t for t in _tasks(Role.OPSG, now.date()) if t.reference == incident.reference] == []
    propose = [t for t in _tasks(Role.DCC, now.date()) if t.step == Step.PROPOSE]
    # The DCC's statement holds the group up.
    assert propose and propose[0].holds_up == "the Operations Group"
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    db.session.commit()
    decide = [t for t in _tasks(Role.OPSG, now.date()) if t.reference == incident.reference]
    assert [(t.step, t.what) for t in decide] == [
        (Step.RECORD_DECISION, "Decide at a meeting whether the report may be published")]


def _resolved(users: dict[str, Any], now: datetime, resolved: datetime, *, title: str) -> Incident:
    start = resolved - timedelta(hours=2)
    incident = factories.incident(actor=users["dcc"], now=now, title=title, started_at=start, detected_at=start,
                                  resolved_at=resolved, cohorts=[])
    review_service.mark_summary_submitted(incident=incident, actor=users["dcc"], now=now)
    return incident


def test_tasks_come_overdue_first_then_what_others_wait_on_then_by_due_date(app, client, auth, users):
    # The page reads the clock, so the incidents are placed around today: resolved some Working Days ago.
    now = utcnow()
    today = local_date(now)
    cal = rules_service.calendar()

    def working_days_ago(days: int) -> datetime:
        return datetime.combine(cal.add_working_days(today, -days), time(12, 0), tzinfo=UTC)

    principle_service.seed_defaults()
    overdue = factories.incident(actor=users["dcc"], now=now, title="Overdue")  # resolved 4 Apr 2023: all overdue
    # SECAS asked a question just now, on an incident whose Review Report is due in four weeks.
    asked = _resolved(users, now, working_days_ago(1), title="Asked")
    review_service.propose(incident=asked, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    review_service.review_exclusion(incident=asked, outcome=ReviewOutcome.INFORMATION_REQUESTED,
                                    comment="Which storm?", actor=users["secas"], now=now)
    # Two incidents whose Review Reports are due sooner than the asked one's, the sooner one logged last.
    later = _resolved(users, now, working_days_ago(3), title="Later")
    sooner = _resolved(users, now, working_days_ago(5), title="Sooner")
    for incident in (later, sooner):
        review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    db.session.commit()

    tasks = _tasks(Role.DCC, today)
    order = [(t.reference, t.step) for t in tasks]
    assert order == [
        (overdue.reference, Step.SUMMARY_REPORT), (overdue.reference, Step.PROPOSE),
        (overdue.reference, Step.WRITE_REPORT),
        (asked.reference, Step.ANSWER_REQUEST),
        (sooner.reference, Step.WRITE_REPORT), (later.reference, Step.WRITE_REPORT),
        (asked.reference, Step.WRITE_REPORT),
    ]
    assert [t.urgency for t in tasks] == [0, 0, 0, 1, 2, 2, 2]
    assert tasks[0].holds_up == "SECAS"  # of two steps due the same day, the one SECAS waits for first
    assert tasks[3].holds_up == "SECAS" and tasks[3].due_on is None
    assert [t.due_on for t in tasks[4:]] == sorted(t.due_on for t in tasks[4:])
    assert tasks[6].deadline_note == "19 Working Days left"

    # The page shows the same order under its three headings, each step a link to where it is taken.
    auth.login(users["dcc"])
    page = client.get("/").text
    assert [(ref, step) for _, step, ref, _ in listed(page)] == order
    assert page.index("Overdue (3)") < page.index("Others are waiting for these (1)") < page.index(
        "Next, by due date (3)")
    links = {(ref, step): link for _, step, ref, link in listed(page)}
    assert links[(asked.reference, Step.ANSWER_REQUEST)] == f"/incidents/{asked.reference}/review#pmr"
    assert links[(sooner.reference, Step.WRITE_REPORT)] == f"/incidents/{sooner.reference}/report/edit"
    assert links[(overdue.reference, Step.SUMMARY_REPORT)] == (
        f"/incidents/{overdue.reference}/summary-report#write-heading")
    assert "Waiting for this: SECAS" in page and "was due Thu 6 Apr 2023" in page
    assert f"Due by {format_date(tasks[6].due_on)} (19 Working Days left)" in page


@pytest.mark.parametrize("review_driven_up_to", [2000, -1])  # both ways of picking the candidates
def test_a_fresh_question_is_listed_however_many_reviews_wait_longer(app, users, now, monkeypatch,
                                                                      review_driven_up_to):
    monkeypatch.setattr(dashboard_service, "TASK_CANDIDATES", 3)
    monkeypatch.setattr(dashboard_service, "REVIEW_DRIVEN_UP_TO", review_driven_up_to)
    for _ in range(5):
        factories.incident(actor=users["dcc"], now=now)
    principle_service.seed_defaults()
    asked = _resolved(users, now, datetime(2023, 5, 31, 12, 0, tzinfo=UTC), title="Asked")
    review_service.propose(incident=asked, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    review_service.review_exclusion(incident=asked, outcome=ReviewOutcome.INFORMATION_REQUESTED,
                                    comment="Which storm?", actor=users["secas"], now=now)
    db.session.commit()
    tasks = _tasks(Role.DCC, now.date())
    assert (asked.reference, Step.ANSWER_REQUEST) in [(t.reference, t.step) for t in tasks]
    # It comes after the overdue steps of the three reviews waiting longest, before any deadline to come.
    assert [t.urgency for t in tasks] == sorted(t.urgency for t in tasks)
    assert [t.step for t in tasks if t.urgency == 1] == [Step.ANSWER_REQUEST]


def test_secas_chases_a_late_summary_report_on_the_review(app, client, auth, users, now):
    late = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    tasks = [t for t in _tasks(Role.SECAS, now.date()) if t.reference == late.reference]
    assert [(t.step, t.what) for t in tasks] == [
        (Step.COMMENT, "Chase the DCC for its Major Incident Summary Report: it is late")]
    # Not before it is due.
    assert [t for t in _tasks(Role.SECAS, date(2023, 4, 6)) if t.reference == late.reference] == []

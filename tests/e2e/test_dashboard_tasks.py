"""In Chromium, on the demo data: "what you must do next" lists no step the workflow would refuse.

For each role, every task on the dashboard is a step the workflow allows its party now, listed once; following its
link as that person reaches the page where the step is taken, and that page offers it (its form is there).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.workflow import Step
from incidents.timeutil import local_date, utcnow
from incidents.user import service as user_service
from tests.e2e.conftest import LiveServer, Person, shot

pytestmark = pytest.mark.e2e

ROLES = ("dcc", "secas", "opsg", "admin")
# What the page a task links to shows when it offers the step: the form that takes it.
OFFERED = {
    Step.SUMMARY_REPORT: "form#summary-form",
    Step.PROPOSE: "form[action$='/review/proposal']",
    Step.ANSWER_REQUEST: "form[action$='/review/proposal']",
    Step.REVIEW_EXCLUSION: "form[action$='/review/exclusion-review']",
    Step.WRITE_REPORT: "textarea[name='summary']",
    Step.RECORD_DECISION: "form[action$='/review/decision']",
    Step.PUBLISH: "form[action*='/review/publication']",
    Step.COMMENT: "form[action$='/review/comments']",
}


def seed_demo() -> dict[str, str]:
    """Load the demo data; return {role: email} of the demo logins."""
    demo_service.seed()
    return {role: email for email, role, _ in demo_service.DEMO_USERS}


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database holding the demo data."""
    return serve(seed_demo, password=demo_service.DEMO_PASSWORD)


@pytest.fixture()
def people(browser: Any, server: LiveServer) -> Iterator[dict[str, Person]]:
    """The DCC, SECAS, an OPSG member and an administrator, each logged in in their own browser."""
    made = {}
    for role in ROLES:
        person = Person(browser, server, role)
        person.login()
        made[role] = person
    yield made
    for person in made.values():
        person.close()


def _tasks(page: Any) -> list[tuple[str, Step, str, str]]:
    """Read the dashboard's tasks as (who, step, reference, link) in page order."""
    items = page.locator("section.dashboard-tasks li.task")
    found = []
    for index in range(items.count()):
        item = items.nth(index)
        found.append((item.get_attribute("data-who"), Step(item.get_attribute("data-step")),
                      item.get_attribute("data-reference"), item.locator("a.task-what").get_attribute("href")))
    return found


@pytest.mark.parametrize("role", ROLES)
def test_each_dashboard_task_is_allowed_now_and_its_link_offers_the_step(people: dict[str, Person],
                                                                         server: LiveServer, role: str) -> None:
    person = people[role]
    person.page.goto("/")
    tasks = _tasks(person.page)
    shot(person.page, f"dashboard tasks {role}")
    assert tasks, f"the demo has steps for {role}"
    assert len(set(tasks)) == len(tasks), tasks
    with server.app.app_context():
        today = local_date(utcnow())
        for who, step, reference, _ in tasks:
            assert role == "admin" or who == role.upper(), (who, role)
            incident = db.session.scalars(sa.select(Incident).where(Incident.reference == reference)).one()
            review = review_service.get_review(incident)
            actor = user_service.find_by_email(server.emails[who.lower()])
            assert workflow.is_allowed(step, user=actor, incident=incident, review=review), (who, step, reference)
            assert any(s.who == who and s.step == step for s in workflow.to_do(incident, review, today=today))
        db.session.remove()
    for who, step, reference, link in tasks:
        acting = people[who.lower()] if role == "admin" else person
        response = acting.page.goto(link)
        assert response is not None and response.ok, link
        # Not sent back with a refusal: the page where the step is taken, offering it.
        assert acting.page.url.split("#")[0].endswith(link.split("#")[0]), (link, acting.page.url)
        assert acting.page.locator(OFFERED[step]).count() >= 1, (step, link)

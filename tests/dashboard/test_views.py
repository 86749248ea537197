"""The dashboard (the home page after login): the right things per role, from a constant number of queries."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from tests import factories
from tests.document import builders


@pytest.fixture()
def board(app, users, now):
    """One review waiting on each party, a published report, actions and the next OPSG meeting."""
    principle_service.seed_defaults()
    made = {"fresh": factories.incident(actor=users["dcc"], now=now, title="Fresh <b>incident</b>")}
    made["pending"] = factories.incident(actor=users["dcc"], now=now)
    review_service.propose(incident=made["pending"], exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    made["submitted"] = builders.submitted(users, now)
    made["agreed"] = builders.submitted(users, now)
    builders.decided(made["agreed"], users, now)
    made["published"] = builders.published(users, now)
    for key in ("pending", "submitted", "agreed", "published"):  # the fresh one's Summary Report is still to send
        review_service.mark_summary_submitted(incident=made[key], actor=users["dcc"], now=now)
    action_service.create_action(actor=users["secas"], now=now, draft=action_service.ActionDraft(
        reference="OPSG 96/01", text="DCC to report NTE reset times.", owner_org="dcc",
        raised_on=date(2023, 5, 1), target_on=date(2023, 5, 20)))
    action_service.create_action(actor=users["secas"], now=now, draft=action_service.ActionDraft(
        reference="OPSG 96/02", text="Not due for a long time.", owner_org="secas",
        raised_on=date(2023, 5, 1), target_on=date(2099, 5, 20)))
    meeting_service.schedule(reference="OPSG_150", held_on=date(2099, 1, 27), actor=users["secas"], now=now)
    db.session.commit()
    return made


def home(client, auth, user) -> str:
    auth.logout()
    assert auth.login(user).status_code == 302
    response = client.get("/")
    assert response.status_code == 200
    return response.text


def tasks_section(page: str) -> str:
    return page[page.index('id="tasks-heading"'):page.index('id="measures-heading"')]


def test_dcc_sees_its_overdue_steps_with_due_dates(client, auth, users, board):
    tasks = tasks_section(home(client, auth, users["dcc"]))
    assert board["fresh"].reference in tasks
    assert "Propose the PMR treatment" in tasks and "Write and submit the Major Incident Review Report" in tasks
    # Logged in 2023, so the due dates have passed.
    # fresh: send the Summary Report, propose and write; pending: write (SECAS has the exclusion).
    assert "Overdue (4)" in tasks and "was due Thu 6 Apr 2023" in tasks
    assert tasks.count("Send the Major Incident Summary Report") == 1
    assert "Review the proposed exclusion" not in tasks and "Decide at a meeting" not in tasks
    assert "Fresh &lt;b&gt;incident&lt;/b&gt;" in tasks


def test_secas_sees_exclusions_to_review_and_reports_to_publish(client, auth, users, board):
    tasks = tasks_section(home(client, auth, users["secas"]))
    assert board["pending"].reference in tasks and "Review the proposed exclusion" in tasks
    assert board["agreed"].reference in tasks and "Publish the agreed report to SEC Parties" in tasks
    assert "Propose the PMR treatment" not in tasks and board["published"].reference not in tasks
    # The fresh incident's Summary Report is late and not recorded as sent: SECAS's part is to chase it.
    assert board["fresh"].reference in tasks
    assert tasks.count("Chase the DCC for its Major Incident Summary Report: it is late") == 1


def test_opsg_sees_reviews_awaiting_a_decision_and_the_next_meeting(client, auth, users, board):
    page = home(client, auth, users["opsg"])
    tasks = tasks_section(page)
    assert board["submitted"].reference in tasks and "Decide at a meeting whether the report may be published" in tasks
    assert board["agreed"].reference not in tasks
    assert "OPSG_150" in tasks and 'href="/meetings/OPSG_150/pack"' in tasks


def test_admin_sees_everyone_s_steps_counts_measures_and_overdue_actions(client, auth, users, board):
    page = home(client, auth, users["admin"])
    tasks = tasks_section(page)
    for key in ("fresh", "pending", "submitted", "agreed"):
        assert board[key].reference in tasks
    assert {'<span class="tag">DCC</span>', '<span class="tag">SECAS</span>', '<span class="tag">OPSG</span>'} <= set(
        re.findall(r'<span class="tag">[A-Z]+</span>', tasks))
    counts = dict(re.findall(r'data-state="([a-z_]+)">(\d+)<', page))
    assert counts == {"not_started": "2", "draft": "0", "submitted": "1", "deferred": "0", "not_agreed": "0",
                      "agreed": "1", "published": "1"}
    exclusions = dict(re.findall(r'data-exclusion="([a-z_]+)">(\d+)<', page))
    assert exclusions["pending"] == "1" and exclusions["included"] == "3" and exclusions["not_proposed"] == "1"
    # Each state in the words every page uses for it (incidents.labels).
    named = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num" data-(?:state|exclusion)="([a-z_]+)"', page))
    assert named["Submitted to the Operations Group"] == "submitted" and named["Publication agreed"] == "agreed"
    assert named["Exclusion proposed, waiting for SECAS"] == "pending" and named["Included in the PMR"] == "included"
    assert 'data-measure="CPM4"' in page and 'data-measure="CPM5"' in page and "with exclusions" in page
    assert "Overdue actions (1)" in page and "OPSG 96/01" in page and "OPSG 96/02" not in page


def test_party_sees_published_reports_only(client, auth, users, board):
    page = home(client, auth, users["party"])
    assert "Welcome" in page
    assert board["published"].reference in page
    assert f'href="/published/{board["published"].reference}.pdf"' in page
    for key in ("fresh", "pending", "submitted", "agreed"):
        assert board[key].reference not in page
    assert "What you must do next" not in page and "OPSG 96/01" not in page


def _count_queries(app: Flask, client: FlaskClient) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


@pytest.mark.parametrize("role", ["admin", "party"])
def test_the_number_of_queries_does_not_grow_with_the_data(app, client, auth, users, board, now, role):
    auth.login(users[role])
    before = _count_queries(app, client)
    for _ in range(3):
        factories.incident(actor=users["dcc"], now=now)
        builders.submitted(users, now)
        builders.published(users, now)
    action_service.create_action(actor=users["secas"], now=now, draft=action_service.ActionDraft(
        reference="OPSG 96/03", text="Another overdue action.", owner_org="opsg",
        raised_on=date(2023, 5, 1), target_on=date(2023, 5, 21)))
    db.session.commit()
    after = _count_queries(app, client)
    assert after == before
    assert before <= 15


def test_a_review_counts_while_its_incident_is_major(client, auth, users, board, now):
    """The counts follow the incident's category: lowered below major, its review leaves them; raised, it returns."""
    from incidents.incident import service as incident_service
    from incidents.review.models import Review

    def counted() -> dict[str, str]:
        return dict(re.findall(r'data-exclusion="([a-z_]+)">(\d+)<', home(client, auth, users["admin"])))

    def recategorise(category: int) -> None:
        incident = db.session.merge(board["pending"])
        incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(category=category),
                                         actor=users["dcc"], expected_version=incident.version, now=now)
        db.session.commit()
        copy = db.session.scalar(sa.select(Review.incident_category).where(Review.incident_id == incident.id))
        assert copy == category

    assert counted()["pending"] == "1"
    recategorise(3)
    assert counted()["pending"] == "0"
    recategorise(2)
    assert counted()["pending"] == "1"

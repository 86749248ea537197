"""The incident list's review columns: each row's review stage and who acts next, as the workflow says, in one query."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.extensions import db
from incidents.review import service as review_service
from incidents.review import workflow
from tests import factories
from tests.document import builders


def row_text(body: str, reference: str) -> str:
    """Return the text of the list row of ``reference``, tags stripped and spaces squeezed."""
    match = re.search(rf'<tr>\s*<th scope="row"[^>]*><a href="/incidents/{reference}">.*?</tr>', body, re.DOTALL)
    assert match, f"{reference} is not listed"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def cell_text(body: str, reference: str, label: str) -> str:
    """Return the text of one cell (by its data-label) in the list row of ``reference``."""
    row = re.search(rf'<tr>\s*<th scope="row"[^>]*><a href="/incidents/{reference}">.*?</tr>', body, re.DOTALL)
    assert row
    cell = re.search(rf'<td data-label="{label}"[^>]*>(.*?)</td>', row.group(0), re.DOTALL)
    assert cell, f"no {label} cell for {reference}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split())


def test_each_row_shows_the_review_stage_and_who_acts_next(client, auth, users, now):
    fresh = factories.incident(actor=users["dcc"], now=now)
    submitted = builders.submitted(users, now)
    published = builders.published(users, now)
    review_service.mark_summary_submitted(incident=published, actor=users["dcc"], now=now)
    minor = factories.incident(actor=users["dcc"], now=now, category=3)
    db.session.commit()
    auth.login(users["secas"])
    body = client.get("/incidents/").get_data(as_text=True)
    assert '<th scope="col">Review stage</th>' in body and '<th scope="col">Who acts next</th>' in body
    for incident in (fresh, submitted, published):
        review = review_service.get_review(incident)
        stage = cell_text(body, incident.reference, "Review stage")
        assert workflow.REPORT_LABELS[review.report_state if review else workflow.ReportState.NOT_STARTED] in stage
        assert workflow.EXCLUSION_LABELS[review.exclusion_state if review
                                         else workflow.ExclusionState.NOT_PROPOSED] in stage
        # Who acts next: the parties the workflow names, each once, in its order.
        parties = list(dict.fromkeys(step.who for step in workflow.next_steps(incident, review)))
        shown = re.findall(r"\b(DCC|SECAS|OPSG)\b", cell_text(body, incident.reference, "Who acts next"))
        assert shown == parties, incident.reference
    assert cell_text(body, submitted.reference, "Who acts next").startswith(("DCC", "OPSG"))
    assert "OPSG" in cell_text(body, submitted.reference, "Who acts next")
    assert cell_text(body, published.reference, "Who acts next") == "No one: nothing is waiting"
    assert "No review (not a Major Incident)" in row_text(body, minor.reference)
    assert cell_text(body, minor.reference, "Who acts next") == "No one"


def test_a_party_that_must_act_shows_its_earliest_due_date_and_whether_it_is_overdue(client, auth, users, now):
    # Resolved long before ``now``: its Summary Report is overdue, and the DCC must send it.
    late = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    steps = workflow.next_steps(late, None)
    due = min(step.due_on for step in steps if step.who == "DCC" and step.due_on is not None)
    auth.login(users["dcc"])
    body = client.get("/incidents/").get_data(as_text=True)
    who = cell_text(body, late.reference, "Who acts next")
    assert f"DCC by {due.day} {due:%b %Y}" in who
    assert ("Overdue" in who) == (due < now.date())


def _count_list_queries(app: Flask, client: FlaskClient) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get("/incidents/?per_page=50").status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_page_reviews_load_in_one_query_however_many_rows(app, client, auth, users, now):
    builders.submitted(users, now)
    factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    auth.login(users["opsg"])
    before = _count_list_queries(app, client)
    for _ in range(4):
        builders.submitted(users, now)
        builders.published(users, now)
        factories.incident(actor=users["dcc"], now=now, category=3)
    db.session.commit()
    after = _count_list_queries(app, client)
    assert after == before

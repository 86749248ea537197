"""Stored Markdown has limits, refused at save with a message naming the limit, so no text can slow the PDFs.

A Review Report with a 150-row by 60-column table took half a minute to draw
as a PDF (gunicorn's worker timeout answered 500, for every reader). The
limits (characters, parts, table rows and columns, nesting) are stated in the
editor and in the API schema, and held by the report service for both.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.report import markdown
from incidents.report import service as report_service
from incidents.report.models import Classification, ReportVersion
from incidents.user import service as user_service
from tests import factories
from tests.document import builders


def table(rows: int, columns: int) -> str:
    """A Markdown table of ``rows`` rows under its header and ``columns`` columns."""
    lines = ["|" + "|".join(f"h{n}" for n in range(columns)) + "|", "|" + "-|" * columns]
    return "\n".join(lines + ["|" + "|".join("x" for _ in range(columns)) + "|"] * rows)


BIG_TABLE = table(150, 60)
LIMITS = markdown.Limits(characters=20000, parts=400, table_rows=30, table_columns=10, nesting=5)


def nested(depth: int) -> str:
    return "\n".join("  " * level + f"- level {level + 1}" for level in range(depth))


@pytest.mark.parametrize(("text", "named"), [
    (BIG_TABLE, ["9060 parts", "150 rows under its header; the limit is 30 rows", "60 columns; the limit is 10"]),
    (table(31, 10), ["31 rows under its header; the limit is 30 rows"]),
    (table(30, 11), ["11 columns; the limit is 10 columns"]),
    (nested(6), ["nests lists or quotes 6 deep; the limit is 5 levels"]),
    ("> " * 50 + "deep", ["the limit is 5 levels"]),
    ("\n\n".join(["A paragraph."] * 401), ["401 parts", "the limit is 400 parts"]),
    ("- item\n" * 401, ["401 parts"]),
    ("*a* " * 400, ["401 parts"]),  # a paragraph holding 400 emphases
    ("x" * 20001, ["20001 characters; the limit is 20000 characters"]),
])
def test_text_past_a_limit_is_named(text, named):
    problems = " ".join(markdown.check(text, LIMITS))
    for words in named:
        assert words in problems, (words, problems)


@pytest.mark.parametrize("text", [
    table(30, 10), nested(5), "\n\n".join(["A paragraph."] * 400), "- item\n" * 400, "x" * 20000,
    "A *short* report with a [link](https://example.org) and `code`.", ""])
def test_text_at_the_limits_is_accepted(text):
    assert markdown.check(text, LIMITS) == []


@pytest.fixture()
def draft(app, users, now):
    principle_service.seed_defaults()
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return incident


def _versions() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ReportVersion))


def test_the_editor_states_the_limits_and_refuses_the_150_by_60_table(client, auth, users, draft):
    auth.login(users["dcc"])
    page = client.get(f"/incidents/{draft.reference}/report/edit").text
    assert "tables of at most 30 rows under the header and 10 columns" in page
    assert "nested at most 5 deep" in page and "400 parts" in page
    sections = {**builders.SECTIONS, "impact": BIG_TABLE}
    response = client.post(f"/incidents/{draft.reference}/report/edit",
                           data={**sections, "classification": "AMBER", "etag": ""})
    assert response.status_code == 422
    assert "Impact has a table of 150 rows under its header; the limit is 30 rows." in response.text
    assert "Impact has a table of 60 columns; the limit is 10 columns." in response.text
    assert _versions() == 0
    # The same text within the limits is saved.
    sections["impact"] = table(30, 10)
    assert client.post(f"/incidents/{draft.reference}/report/edit",
                       data={**sections, "classification": "AMBER", "etag": ""}).status_code == 302
    assert _versions() == 1


def test_the_api_states_the_limits_and_refuses_the_150_by_60_table(client, users, draft):
    token = user_service.issue_token(user=users["dcc"])
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    document = client.get("/api/v1/openapi.json").get_json()
    stated = document["paths"]["/incidents/{reference}/report"]["put"]["requestBody"]["description"]
    assert "at most 20000 characters and 400 parts" in stated
    assert "tables of at most 30 rows under the header and 10 columns" in stated
    assert "nested at most 5 deep" in stated
    body = {"classification": "AMBER", "sections": {**builders.SECTIONS, "summary": BIG_TABLE}}
    response = client.put(f"/api/v1/incidents/{draft.reference}/report", json=body, headers=headers)
    assert response.status_code == 422, response.text
    messages = response.get_json()["errors"]["sections.summary"]
    assert "Summary has a table of 150 rows under its header; the limit is 30 rows." in messages
    assert _versions() == 0


@pytest.mark.parametrize("app_config", [{"MARKDOWN_MAX_TABLE_ROWS": 200, "MARKDOWN_MAX_TABLE_COLUMNS": 80,
                                         "MARKDOWN_MAX_PARTS": 10000}])
def test_the_limits_are_configuration(app, users, draft, now):
    report_service.save_draft(incident=draft, sections={**builders.SECTIONS, "impact": BIG_TABLE},
                              classification=Classification.AMBER, actor=users["dcc"], now=now)
    db.session.commit()
    assert _versions() == 1

"""The benchmark, run small: every stage works (PDFs, data, statement counts, pages in sequence and under load,
PMR, CLI start-up, sweep, memory, results).

This is `make bench` on 300 incidents, a few requests and a second of load a
page, so that the harness never rots. It checks what the run itself fails on
(statement counts that grow with the data or the page size, failed requests,
reminders lost or sent twice) and that every figure is written with its goal;
the goals are for the full run (see bench/results.md), never asserted here.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import run as bench_run

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture()
def bench_database(tmp_path: Path) -> Iterator[str]:
    """A database of the benchmark's own: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'bench.sqlite'}"
        return
    name = f"incidents_bench_smoke_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(sa.engine.make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        yield str(sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def _table(text: str, heading: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under ``### heading...``, by their first cell without its path."""
    section = re.search(rf"^### {re.escape(heading)}.*?\n\n(.*?)\n\n", text, re.MULTILINE | re.DOTALL)
    assert section, f"no table under {heading!r}"
    rows = {}
    for line in section.group(1).splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[re.sub(r" \(`[^`]*`\).*$", "", cells[0])] = cells[1:]
    return rows


def test_the_benchmark_runs_small(bench_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capfd: pytest.CaptureFixture[str]) -> None:
    if not shutil.which("wrk"):
        pytest.fail("The benchmark smoke test needs wrk: apt-get install wrk (make test installs it as root).")
    monkeypatch.setenv("DATABASE_URL", bench_database)
    results = tmp_path / "results.md"
    status = bench_run.main(["--incidents", "300", "--small", "100", "--requests", "5", "--duration", "1",
                             "--warm-up", "0", "--reminders", "50", "--pdf-runs", "0", "--cli-runs", "1",
                             "--results", str(results)])
    out, err = capfd.readouterr()
    assert status == 0, f"{out}\n{err}"
    assert "FAILED" not in err
    text = results.read_text()
    assert f"## {'postgresql' if PG_URL else 'sqlite'}" in text
    found = re.search(r"\| PMR (\d{4}-\d{2}) ", text)
    assert found
    month = found.group(1)
    names = [t.name for t in bench_run.targets(type("Generated", (), {"detail_reference": "", "pmr_month": month}))]
    assert len(names) == 13 and len([n for n in names if n.startswith("dashboard (")]) == 5

    sequence = _table(text, "One connection")
    assert set(sequence) == {"bare endpoint", *names}
    assert float(sequence["bare endpoint"][0]) > 0
    for name in names:
        median, p95, goal, statements = sequence[name]
        assert 0 < float(median) <= float(p95), name
        assert re.fullmatch(r"median < \d+ ms(, p95 < \d+ ms)?: (met|\*\*missed\*\*)", goal), (name, goal)
        counts = re.match(r"(\d+) → (\d+)", statements)
        assert counts and 0 < int(counts.group(2)) <= int(counts.group(1)), (name, statements)
    assert sequence[f"PMR {month}"][2].startswith("median < 100 ms:")

    load = _table(text, "16 connections")
    assert set(load) == {"bare endpoint", *names}
    assert float(load["bare endpoint"][0].replace(",", "")) > 0

    others = _table(text, "Documents")
    measures = " ".join(others)
    assert "Review Report PDF" in measures and "OPSG pack PDF" in measures and "flask --app wsgi --help" in measures
    assert "Review Report PDF at every Markdown limit" in measures  # the largest text accepted, drawn
    assert all(re.search(r": (met|\*\*missed\*\*)$", cells[-1]) for cells in others.values()), others
    assert "50 delivered exactly once, 0 duplicates" in text
    assert re.search(r"Peak memory per gunicorn worker \| \d+ MB, \d+ MB", text)

"""The benchmark, run small: every stage works (data, statement counts, load, PMR, sweep, memory, table).

This is `make bench` on 1,000 incidents with a second of load a page, so that
the harness never rots. It checks what the run itself fails on (statement
counts that grow with the data or the page size, failed requests, reminders
lost or sent twice) and that the table is written; the speed goals are for
the full run (see bench/results.md), never asserted here.
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


def test_the_benchmark_runs_small(bench_database, tmp_path, monkeypatch, capfd):
    if not shutil.which("wrk"):
        pytest.fail("The benchmark smoke test needs wrk: apt-get install wrk (make test installs it as root).")
    monkeypatch.setenv("DATABASE_URL", bench_database)
    results = tmp_path / "results.md"
    status = bench_run.main(["--incidents", "1000", "--small", "300", "--duration", "1", "--reminders", "200",
                             "--results", str(results)])
    out, err = capfd.readouterr()
    assert status == 0, f"{out}\n{err}"
    assert "FAILED" not in err
    table = results.read_text()
    backend = "sqlite" if not PG_URL else "postgresql"
    assert f"## {backend}" in table
    month = re.search(r"\| PMR (\d{4}-\d{2}) ", table).group(1)
    names = [t.name for t in bench_run.targets(type("Generated", (), {"detail_reference": "", "pmr_month": month}))]
    rows = {name: re.search(rf"^\| {re.escape(name)} \(`[^`]+`\) \|.*$", table, re.MULTILINE) for name in names}
    assert all(rows.values()), [name for name, row in rows.items() if not row]
    rows = {name: row.group(0) for name, row in rows.items()}
    for name, row in rows.items():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[1].replace(",", "")) > 0, name  # requests a second
        assert float(cells[2].replace(",", "")) > 0, name  # the ceiling around it
        small, large = re.match(r"(\d+) → (\d+)", cells[6]).groups()
        assert int(small) == int(large) and int(large) <= bench_run.GOAL_STATEMENTS + 2, (name, cells[6])
        # A kept page: no statement where the workers hear the counter (PostgreSQL), the user's row otherwise.
        assert cells[7] == ("0" if PG_URL else "1"), (name, cells[7])
    assert "200 delivered exactly once, 0 duplicates" in table
    assert re.search(r"Peak memory per gunicorn worker \| \d+ MB, \d+ MB", table)

"""``python -m bench.search``: how long full-text search takes at scale, per role, warm.

Run on its own it builds (or reuses) a data set of ``--incidents`` generated
incidents beside the demo data, on SQLite (``bench/data/search.sqlite``) or
on the PostgreSQL database in ``DATABASE_URL`` (its name must contain
``bench``), and prints the median and worst time of each query, as the search
page computes it, for a DCC user (the whole record) and a SEC Party (published
editions only). ``bench.run`` calls ``time_search`` on its own data set.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

GOAL_SEARCH_MS = 100.0
# Queries a reader would type, from rare to common in the generated text (one hits most timeline entries).
QUERIES = ("INC900000012345", "expired certificate", "carrier core router", '"network terminating equipment" reset',
           "tariff -prepayment", "national carrier", "service")
ROLES = {"dcc": "dcc@demo.example", "party": "party@demo.example"}


@dataclass(frozen=True)
class SearchTiming:
    """One query's times for one role, in milliseconds, and how many results it gave."""

    role: str
    query: str
    median_ms: float
    max_ms: float
    hits: int


def time_search(url: str, *, runs: int = 10) -> list[SearchTiming]:
    """Time each query for each role as the search page runs it (warm, ``runs`` times)."""
    from bench.run import app_context
    from incidents.search import service as search_service
    from incidents.user import service as user_service

    timings = []
    with app_context(url):
        for role, email in ROLES.items():
            user = user_service.find_by_email(email)
            assert user is not None, email
            for query in QUERIES:
                hits = len(search_service.search(query, viewer=user).hits)
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    search_service.search(query, viewer=user)
                    times.append((time.perf_counter() - start) * 1000)
                timings.append(SearchTiming(role, query, statistics.median(times), max(times), hits))
    return timings


def table(timings: list[SearchTiming]) -> str:
    """Return the timings as a Markdown table."""
    lines = ["| role | query | results | median | max | goal |", "|---|---|---|---|---|---|"]
    for t in timings:
        verdict = "met" if t.median_ms < GOAL_SEARCH_MS else "missed"
        lines.append(f"| {t.role} | `{t.query}` | {t.hits} | {t.median_ms:.1f} ms | {t.max_ms:.1f} ms | "
                     f"< {GOAL_SEARCH_MS:.0f} ms: {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the data set, time the searches, print the table."""
    from bench import run as bench_run

    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000, help="generated incidents (default 100000)")
    parser.add_argument("--runs", type=int, default=10, help="times each query runs, warm (default 10)")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it already holds the data")
    options = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{bench_run.ROOT / 'bench' / 'data' / 'search.sqlite'}"
    if url.startswith("postgresql"):
        bench_run.database_url()  # refuses a database whose name lacks "bench"
    if not options.reuse or not _has_data(url, options.incidents):
        bench_run.seed_demo(url)
        start = time.perf_counter()
        bench_run.prepare(url, incidents=options.incidents)
        print(f"generated {options.incidents} incidents in {time.perf_counter() - start:.0f} s", flush=True)
    counts = bench_run.data_counts(url)
    print(", ".join(f"{name}: {count}" for name, count in counts.items()), flush=True)
    print(table(time_search(url, runs=options.runs)))
    return 0


def _has_data(url: str, incidents: int) -> bool:
    if url.startswith("sqlite") and not Path(sa.engine.make_url(url).database or "").exists():
        return False
    try:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            return int(conn.scalar(sa.text("SELECT count(*) FROM incident")) or 0) >= incidents
    except sa.exc.DBAPIError:
        return False


if __name__ == "__main__":
    sys.exit(main())

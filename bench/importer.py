"""``python -m bench.importer``: how many rows a second the ITSM import takes, dry run and real run.

Builds a CSV export of ``--incidents`` incidents (each with three cohorts and
six timeline entries: ten rows an incident, shuffled), then imports it as the
demo DCC user on a fresh database (SQLite ``bench/data/import.sqlite``, or
the PostgreSQL database in ``DATABASE_URL``, whose name must contain
``bench``): a dry run, the real run, and the same file again (which changes
nothing). ``bench.run`` calls ``time_import`` on its own database.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HEADER = ["record", "reference", "title", "category", "started_at", "resolved_at", "cause_category", "cause",
          "impact", "cohort", "impact_started_at", "restored_at", "occurred_at", "kind", "text"]
COHORTS = ("CSP C&S", "CSP N", "DSP")
# References no generated or demo incident uses.
FIRST_REFERENCE = 800_000_000_000


@dataclass(frozen=True)
class ImportTiming:
    """One import of the file: rows, seconds, rows a second."""

    run: str
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        """Return the throughput."""
        return self.rows / self.seconds if self.seconds else 0.0


def export(incidents: int, *, seed: int = 1905) -> bytes:
    """Return a shuffled CSV export of ``incidents`` incidents, ten rows each."""
    start = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    rows: list[dict[str, str]] = []
    for n in range(incidents):
        reference = f"INC{FIRST_REFERENCE + n:012d}"
        began = start + timedelta(hours=n % 5000, minutes=n // 5000)
        rows.append({"record": "incident", "reference": reference, "title": f"Imported outage {n}", "category": "2",
                     "started_at": began.isoformat(), "resolved_at": (began + timedelta(hours=3)).isoformat(),
                     "cause_category": "third_party", "cause": "A third-party carrier lost a core router.",
                     "impact": "Service requests delayed."})
        for k, cohort in enumerate(COHORTS):
            rows.append({"record": "cohort", "reference": reference, "cohort": cohort,
                         "impact_started_at": began.isoformat(),
                         "restored_at": (began + timedelta(hours=1 + k)).isoformat()})
        for k in range(6):
            rows.append({"record": "timeline", "reference": reference, "kind": "update",
                         "occurred_at": (began + timedelta(minutes=20 * k)).isoformat(),
                         "text": f"Update {k} from the ITSM."})
    random.Random(seed).shuffle(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def time_import(url: str, *, incidents: int = 1000) -> list[ImportTiming]:
    """Import the export three times (dry run, real run, again) as the demo DCC user; return the timings."""
    from bench.run import app_context
    from incidents.extensions import db
    from incidents.importer import service as import_service
    from incidents.user import service as user_service

    data = export(incidents)
    timings = []
    with app_context(url):
        actor = user_service.find_by_email("dcc@demo.example")
        assert actor is not None
        for name, dry_run in (("dry run", True), ("real run", False), ("again (changes nothing)", False)):
            began = time.perf_counter()
            rows, notes = import_service.read_file(data, name="bench.csv")
            report = import_service.run(rows, actor=actor, dry_run=dry_run, source="bench.csv", notes=notes)
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
            timings.append(ImportTiming(name, len(report.rows), time.perf_counter() - began))
            assert report.count("refused") == 0, report.summary()
    return timings


def table(timings: list[ImportTiming]) -> str:
    """Return the timings as a Markdown table."""
    lines = ["| import | rows | seconds | rows/s |", "|---|---:|---:|---:|"]
    lines += [f"| {t.run} | {t.rows:,} | {t.seconds:.1f} | {t.rows_per_s:,.0f} |" for t in timings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Migrate a fresh database with the demo data, then time the imports."""
    from bench import run as bench_run

    parser = argparse.ArgumentParser(prog="python -m bench.importer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000, help="incidents in the file, ten rows each")
    options = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{bench_run.ROOT / 'bench' / 'data' / 'import.sqlite'}"
    if url.startswith("postgresql"):
        bench_run.database_url()  # refuses a database whose name lacks "bench"
    bench_run.seed_demo(url)
    print(table(time_import(url, incidents=options.incidents)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

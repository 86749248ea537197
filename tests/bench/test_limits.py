"""The report the benchmark draws at the Markdown limits is at every one of them at once, and past none."""
from __future__ import annotations

import dataclasses
from typing import Any

from bench import run as bench_run
from incidents.report import markdown
from incidents.report import service as report_service


def test_the_benchmark_report_is_at_every_markdown_limit(app: Any) -> None:
    limits = report_service.markdown_limits()
    text = bench_run.section_at_limits(limits)
    assert markdown.check(text, limits) == []  # the service accepts it
    # One less of any limit refuses it: it reaches each.
    for name in ("characters", "parts", "table_rows", "table_columns", "nesting"):
        tighter = dataclasses.replace(limits, **{name: getattr(limits, name) - 1})
        assert markdown.check(text, tighter), name

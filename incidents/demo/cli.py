"""``flask seed-demo``: load the demo data (placeholder)."""
from __future__ import annotations

import click


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo data (idempotent)."""

"""``flask seed-demo``: load the demo data (idempotent)."""
from __future__ import annotations

import click
from flask import current_app

from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.timeutil import utcnow


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow seeding when ENV_NAME is production.")
def seed_demo(force: bool) -> None:
    """Load the demo users, the April 2023 history and a live part dated around now; running it again changes
    nothing."""
    if current_app.config.get("ENV_NAME") == "production" and not force:
        raise click.ClickException("Refusing to load demo users into production (use --force to insist).")
    result = demo_service.seed(now=utcnow())
    db.session.commit()
    click.echo(f"Demo data: {result.users_created} user(s) and {result.incidents_created} incident(s) created, "
               f"{result.incidents_skipped} incident(s) already present.")
    click.echo("Demo logins (password for all: " + demo_service.DEMO_PASSWORD + "):")
    for email, role, name in demo_service.DEMO_USERS:
        click.echo(f"  {role:<6} {email:<22} {name}")

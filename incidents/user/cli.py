"""``flask users ...``: create users, change roles, reset passwords, issue and revoke tokens."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from incidents.errors import ServiceError
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import Role, User

users_cli = AppGroup("users", help="Manage users and API tokens.")


def _read_password(prompt: str = "Password") -> str:
    """Read a password from a hidden prompt, or from standard input when it is not a terminal."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _user(email: str) -> User:
    user = user_service.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    return user


def _fail(exc: ServiceError) -> click.ClickException:
    db.session.rollback()
    lines = [exc.detail] + [f"  {field}: {m}" for field, messages in exc.errors.items() for m in messages]
    return click.ClickException("\n".join(lines))


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="The user's role.")
@click.option("--name", default="", help="Display name.")
def create(email: str, role: str, name: str) -> None:
    """Create a user; the password is read from a hidden prompt or standard input."""
    password = _read_password()
    try:
        user = user_service.create_user(email=email, role=role, password=password, name=name)
    except ServiceError as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}).")


@users_cli.command("list")
def list_() -> None:
    """List users with their roles and state."""
    for user in user_service.list_users():
        state = "active" if user.is_active else "deactivated"
        click.echo(f"{user.email}\t{user.role.value}\t{state}\t{user.name}")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def set_role(email: str, role: str) -> None:
    """Change a user's role."""
    user_service.set_role(user=_user(email), role=role, actor=None)
    db.session.commit()
    click.echo(f"{email} is now {role}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate a user: sessions end, API tokens and the calendar link are revoked."""
    user_service.set_active(user=_user(email), active=False, actor=None)
    db.session.commit()
    click.echo(f"Deactivated {email}.")


@users_cli.command("activate")
@click.argument("email")
def activate(email: str) -> None:
    """Reactivate a deactivated user."""
    user_service.set_active(user=_user(email), active=True, actor=None)
    db.session.commit()
    click.echo(f"Reactivated {email}.")


@users_cli.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Set a new password (hidden prompt or standard input); sessions end, API tokens and the calendar link are revoked."""
    user = _user(email)
    try:
        user_service.reset_password(user=user, password=_read_password("New password"), actor=None)
    except ServiceError as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"Password reset for {email}.")


@users_cli.command("token")
@click.argument("email")
def token(email: str) -> None:
    """Issue a new API token; it is printed once, as the last line."""
    try:
        value = user_service.issue_token(user=_user(email))
    except ServiceError as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"API token for {email} (store it now; it is not shown again):")
    click.echo(value)


@users_cli.command("revoke-tokens")
@click.argument("email")
def revoke_tokens(email: str) -> None:
    """Revoke all of a user's API tokens."""
    count = user_service.revoke_tokens(user=_user(email))
    db.session.commit()
    click.echo(f"Revoked {count} token(s) for {email}.")

"""``flask users ...``: the command line does what the admin pages do, through the same service."""
from __future__ import annotations

import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.auth import service as auth_service
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import ApiToken, Role, User
from tests import factories

NEW_PASSWORD = "cli-password-123"


def reload(email: str) -> User | None:
    """Look a user up again, past anything the session remembers."""
    db.session.expire_all()
    return user_service.find_by_email(email)


def test_create_reads_the_password_from_standard_input(runner):
    result = runner.invoke(args=["users", "create", "Carol@Example.org", "--role", "secas", "--name", "Carol"],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created carol@example.org (secas)." in result.output
    user = reload("carol@example.org")
    assert (user.name, user.role, user.is_active) == ("Carol", Role.SECAS, True)
    assert NEW_PASSWORD not in user.password_hash
    assert user_service.authenticate("carol@example.org", NEW_PASSWORD) == user
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "user",
                                                          AuditEntry.entity_id == user.id))
    assert (entry.action, entry.actor_name) == ("create", "system")


def test_create_refuses_a_short_password(runner):
    result = runner.invoke(args=["users", "create", "short@example.org", "--role", "dcc"], input="short\n")
    assert result.exit_code != 0
    assert "password: Password must be at least 10 characters." in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert reload("short@example.org") is None


def test_create_refuses_an_empty_standard_input(runner):
    result = runner.invoke(args=["users", "create", "empty@example.org", "--role", "dcc"], input="")
    assert result.exit_code != 0
    assert "Password must be at least 10 characters." in result.output
    assert reload("empty@example.org") is None


def test_create_refuses_a_duplicate_and_a_bad_email(runner, users):
    result = runner.invoke(args=["users", "create", users["dcc"].email.upper(), "--role", "dcc"],
                           input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    assert "already has an account" in result.output
    result = runner.invoke(args=["users", "create", "not-an-email", "--role", "dcc"], input=NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    assert "email: Enter an email address such as name@example.org." in result.output
    assert db.session.query(User).count() == 5


def test_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "w@example.org", "--role", "wizard"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 2
    assert "wizard" in result.output
    assert reload("w@example.org") is None


def test_token_prints_the_token_as_its_last_line_and_it_authenticates(runner, users):
    dcc = users["dcc"]
    result = runner.invoke(args=["users", "token", dcc.email])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "not shown again" in lines[0]
    token = lines[-1]
    assert token.startswith("inc_")
    db.session.expire_all()
    assert user_service.user_for_token(token) == dcc
    assert db.session.query(ApiToken).filter_by(token_hash=token).count() == 0  # stored hashed only


def test_token_refused_for_a_deactivated_user(runner, users):
    party = users["party"]
    user_service.set_active(user=party, active=False, actor=None)
    db.session.commit()
    result = runner.invoke(args=["users", "token", party.email])
    assert result.exit_code != 0
    assert "deactivated" in result.output
    assert db.session.query(ApiToken).count() == 0


def test_revoke_tokens(runner, users):
    dcc = users["dcc"]
    tokens = [user_service.issue_token(user=dcc) for _ in range(2)]
    db.session.commit()
    result = runner.invoke(args=["users", "revoke-tokens", dcc.email])
    assert result.exit_code == 0, result.output
    assert f"Revoked 2 token(s) for {dcc.email}." in result.output
    db.session.expire_all()
    assert [user_service.user_for_token(t) for t in tokens] == [None, None]
    result = runner.invoke(args=["users", "revoke-tokens", dcc.email])
    assert "Revoked 0 token(s)" in result.output


def test_set_role(runner, users):
    opsg = users["opsg"]
    result = runner.invoke(args=["users", "set-role", opsg.email, "admin"])
    assert result.exit_code == 0, result.output
    assert f"{opsg.email} is now admin." in result.output
    assert reload(opsg.email).role == Role.ADMIN
    result = runner.invoke(args=["users", "set-role", opsg.email, "emperor"])
    assert result.exit_code == 2
    assert reload(opsg.email).role == Role.ADMIN


def test_deactivate_and_activate(runner, users):
    secas = users["secas"]
    token = user_service.issue_token(user=secas)
    db.session.commit()

    result = runner.invoke(args=["users", "deactivate", secas.email])
    assert result.exit_code == 0, result.output
    assert f"Deactivated {secas.email}." in result.output
    assert reload(secas.email).is_active is False
    assert user_service.authenticate(secas.email, factories.PASSWORD) is None
    assert user_service.user_for_token(token) is None

    result = runner.invoke(args=["users", "activate", secas.email])
    assert result.exit_code == 0, result.output
    assert f"Reactivated {secas.email}." in result.output
    assert reload(secas.email).is_active is True
    assert user_service.authenticate(secas.email, factories.PASSWORD) is not None


def test_reset_password(runner, users):
    party = users["party"]
    auth_service.start_session(user=party, user_agent="", address="127.0.0.1")
    token = user_service.issue_token(user=party)
    db.session.commit()
    result = runner.invoke(args=["users", "reset-password", party.email], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"Password reset for {party.email}." in result.output
    party = reload(party.email)
    assert auth_service.live_sessions(user=party) == []
    assert user_service.user_for_token(token) is None
    assert user_service.authenticate(party.email, NEW_PASSWORD) is not None
    assert user_service.authenticate(party.email, factories.PASSWORD) is None


def test_reset_password_refuses_a_short_password(runner, users):
    party = users["party"]
    result = runner.invoke(args=["users", "reset-password", party.email], input="tiny\n")
    assert result.exit_code != 0
    assert "Password must be at least 10 characters." in result.output
    assert user_service.authenticate(reload(party.email).email, factories.PASSWORD) is not None


def test_list(runner, users):
    user_service.set_active(user=users["opsg"], active=False, actor=None)
    db.session.commit()
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 5
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert rows[users["dcc"].email] == [users["dcc"].email, "dcc", "active", "DCC"]
    assert rows[users["opsg"].email] == [users["opsg"].email, "opsg", "deactivated", "OPSG"]


def test_unknown_email_is_a_clear_error_for_every_command(runner):
    for args, stdin in [(["set-role", "ghost@example.org", "dcc"], None), (["deactivate", "ghost@example.org"], None),
                        (["activate", "ghost@example.org"], None), (["token", "ghost@example.org"], None),
                        (["revoke-tokens", "ghost@example.org"], None),
                        (["reset-password", "ghost@example.org"], NEW_PASSWORD + "\n")]:
        result = runner.invoke(args=["users", *args], input=stdin)
        assert result.exit_code == 1, args
        assert "No user with email ghost@example.org." in result.output, args
        assert isinstance(result.exception, SystemExit), args
    assert db.session.query(AuditEntry).count() == 0

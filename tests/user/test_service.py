"""User service rules found while testing the admin pages and the CLI."""
from __future__ import annotations

import pytest

from incidents.errors import ConflictError
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import ApiToken


def test_no_token_for_a_deactivated_user(users):
    party = users["party"]
    user_service.set_active(user=party, active=False, actor=users["admin"])
    db.session.commit()
    with pytest.raises(ConflictError, match="deactivated"):
        user_service.issue_token(user=party, actor=users["admin"])
    db.session.rollback()
    # Otherwise reactivating would bring to life a token nobody meant to be live.
    user_service.set_active(user=party, active=True, actor=users["admin"])
    db.session.commit()
    assert db.session.query(ApiToken).filter_by(user_id=party.id).count() == 0


def test_deactivation_revokes_tokens_and_reactivation_does_not_restore_them(users):
    dcc = users["dcc"]
    token = user_service.issue_token(user=dcc, actor=users["admin"])
    db.session.commit()
    assert user_service.user_for_token(token) == dcc
    user_service.set_active(user=dcc, active=False, actor=users["admin"])
    db.session.commit()
    assert user_service.user_for_token(token) is None
    user_service.set_active(user=dcc, active=True, actor=users["admin"])
    db.session.commit()
    assert user_service.user_for_token(token) is None

"""Passwords are stored hashed, never as typed."""
from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from incidents import create_app
from incidents.config import Defaults
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User
from tests import factories


def test_password_is_stored_hashed(app, users):
    stored = db.session.execute(sa.select(User.password_hash).where(User.id == users["dcc"].id)).scalar_one()
    assert factories.PASSWORD not in stored
    # The suite overrides the method with a cheap one; the override is honoured.
    assert stored.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert check_password_hash(stored, factories.PASSWORD)


def test_same_password_hashes_differently_per_user(app):
    one = factories.user(role="dcc")
    two = factories.user(role="dcc")
    db.session.commit()
    assert one.password_hash != two.password_hash


def test_scrypt_is_the_default_method(tmp_path, monkeypatch):
    assert Defaults.PASSWORD_HASH_METHOD == "scrypt"
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("INCIDENTS_PASSWORD_HASH_METHOD", raising=False)
    # An app without the suite's cheap-hash override, as in production.
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'scrypt.sqlite'}"})
    with app.app_context():
        db.create_all()
        user = user_service.create_user(email="scrypt@example.org", role="dcc", password=factories.PASSWORD)
        db.session.commit()
        assert user.password_hash.startswith("scrypt:")
        assert factories.PASSWORD not in user.password_hash
        assert user_service.authenticate("scrypt@example.org", factories.PASSWORD) is not None
        assert user_service.authenticate("scrypt@example.org", "wrong-password-here") is None
        db.session.remove()
        db.engine.dispose()

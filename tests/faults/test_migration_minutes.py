"""The minutes migration: references already entered become their own keys, default principles gain their basis,
and a TBC target survives the downgrade as the date the action was raised."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from incidents.extensions import db
from incidents.principle import service as principle_service
from tests.test_migrations import migrated_app  # noqa: F401  (fixture)

T = datetime(2023, 6, 26, 9, 0)


def test_actions_and_principles_move_up_and_back(migrated_app):  # noqa: F811
    upgrade(revision="0015")
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO action (reference, \"group\", meeting_number, text, owner_org, raised_on, target_on, "
            "original_target_on, status, closing_note, created_at, updated_at, version) VALUES ('OPSG 97/04', "
            "'OPSG', 97, 'As minuted.', 'dcc', :raised, :target, :target, 'open', '', :t, :t, 1)"),
            {"raised": date(2023, 6, 26), "target": date(2023, 7, 24), "t": T})
    upgrade()
    with db.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT reference, reference_key, meeting_suffix FROM action")).one() == (
            "OPSG 97/04", "OPSG 97/04", "")
        bases = dict(conn.execute(sa.text(
            "SELECT p.code, v.basis FROM principle_version v JOIN exclusion_principle p ON p.id = v.principle_id "
            "WHERE v.number = 1")).all())
        assert bases == {d.code: d.basis for d in principle_service.DEFAULT_PRINCIPLES}
        conn.execute(sa.text("UPDATE action SET target_on = NULL, original_target_on = NULL"))
    db.session.remove()
    downgrade(revision="0015")
    with db.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT target_on, original_target_on FROM action")).one()
        assert [str(value)[:10] for value in row] == ["2023-06-26", "2023-06-26"]

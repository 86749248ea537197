"""The actions register service: references and their URL form, races with other writers, revisions."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.errors import PermissionDenied, StaleError, ValidationError
from incidents.extensions import db


def _draft(**overrides: Any) -> action_service.ActionDraft:
    values = {"reference": "OPSG 97/04", "text": "The DCC to confirm its exclusion principles.", "owner_org": "dcc",
              "raised_on": date(2023, 6, 26), "target_on": date(2023, 7, 24), **overrides}
    return action_service.ActionDraft(**values)


@pytest.mark.parametrize("reference, slug", [("OPSG 97/04", "OPSG 97-04"), ("PANEL 1/123", "PANEL 1-123")])
def test_slug_round_trip(reference, slug):
    assert action_service.slug(reference) == slug
    assert action_service.reference_from_slug(slug) == reference
    assert action_service.reference_from_slug("nothing") == "nothing"


def test_only_secas_opsg_and_admins_manage_actions(app, users):
    for role in ("dcc", "party"):
        with pytest.raises(PermissionDenied):
            action_service.create_action(draft=_draft(), actor=users[role])
    action = action_service.create_action(draft=_draft(), actor=users["opsg"])
    for role in ("dcc", "party"):
        with pytest.raises(PermissionDenied):
            action_service.edit_action(action=action, edit=action_service.ActionEdit(text="x"), actor=users[role],
                                         expected_version=action.version)


def test_revisions_keep_every_target_and_reason(app, users):
    action = action_service.create_action(draft=_draft(), actor=users["secas"])
    for target, reason in ((date(2023, 9, 25), "Agree with SECAS first."), (date(2023, 10, 30), "Panel asked.")):
        action_service.revise_target(action=action, actor=users["secas"], expected_version=action.version,
                                     target_on=target, reason=reason)
    db.session.commit()
    assert [(r.previous_on, r.target_on, r.reason) for r in action.revisions] == [
        (date(2023, 7, 24), date(2023, 9, 25), "Agree with SECAS first."),
        (date(2023, 9, 25), date(2023, 10, 30), "Panel asked.")]
    assert (action.original_target_on, action.target_on, action.version) == (date(2023, 7, 24), date(2023, 10, 30), 3)


def test_a_save_by_someone_else_after_this_request_read_the_action_is_stale_not_a_crash(app, users):
    action = action_service.create_action(draft=_draft(), actor=users["secas"])
    db.session.commit()
    seen = action.version
    # Another request saves between this one's read and its write.
    with db.engine.begin() as other:
        other.execute(sa.update(Action).where(Action.id == action.id)
                      .values(text="Their text", version=Action.version + 1))
    with pytest.raises(StaleError):
        action_service.edit_action(action=action, edit=action_service.ActionEdit(text="My text"), actor=users["secas"],
                                     expected_version=seen)
    db.session.rollback()
    assert db.session.get(Action, action.id).text == "Their text"


def test_the_same_reference_raised_at_the_same_moment_elsewhere_is_a_field_error(app, users):
    raced: list[bool] = []

    def other_request_first(session, flush_context, instances):
        if not raced and any(isinstance(obj, Action) for obj in session.new):
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(sa.insert(Action).values(
                    reference="OPSG 97/04", reference_key="OPSG 97/04", group="OPSG", meeting_number=97,
                    text="First", owner_org="dcc",
                    raised_on=date(2023, 6, 26), target_on=date(2023, 7, 24), original_target_on=date(2023, 7, 24),
                    status="open", closing_note="", created_at=users["secas"].created_at,
                    updated_at=users["secas"].created_at, version=1))

    event.listen(db.session, "before_flush", other_request_first)
    try:
        with pytest.raises(ValidationError) as info:
            action_service.create_action(draft=_draft(), actor=users["secas"])
    finally:
        event.remove(db.session, "before_flush", other_request_first)
    assert info.value.errors == {"reference": ["OPSG 97/04 is already on the register."]}


def test_a_decision_that_does_not_exist_is_refused(app, users):
    with pytest.raises(ValidationError) as info:
        action_service.create_action(draft=_draft(decision_id=424242), actor=users["secas"])
    assert info.value.errors == {"decision_id": ["There is no decision 424242."]}

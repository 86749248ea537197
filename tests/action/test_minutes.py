"""Minutes as written: references as the group writes them, the wording kept, and TBC target dates."""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from incidents import config as config_module
from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderState
from tests.helpers import NOW

WORDING = ("Provide the principles for excluding Major Incidents \"caused by 3rd Party Service Providers that are out "
           "of the DCC's control, and therefore causing exclusion from the PMR\".")


def text_of(response: Any) -> str:
    """Return the page as plain text, tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def draft(reference: str, target_on: date | None = date(2023, 7, 24), **overrides: Any) -> action_service.ActionDraft:
    """Return a new action as the service takes it."""
    values: dict[str, Any] = {"reference": reference, "text": WORDING, "owner_org": "dcc",
                              "raised_on": date(2023, 6, 26), "target_on": target_on}
    values.update(overrides)
    return action_service.ActionDraft(**values)


def planned(action: Action) -> list[date]:
    """Return the days of the action's reminders still to go, soonest first."""
    return [r.send_at.date() for r in db.session.scalars(
        sa.select(Reminder).where(Reminder.action_id == action.id, Reminder.state == ReminderState.PENDING)
        .order_by(Reminder.send_at))]


@pytest.mark.parametrize(("reference", "group", "number", "suffix"), [
    ("OPSG 97/04", "OPSG", 97, ""), ("OPSG 75/ CONF01", "OPSG", 75, ""), ("OPSG 38x/02", "OPSG", 38, "x")])
def test_the_service_takes_references_as_minuted(app, users, reference, group, number, suffix):
    action = action_service.create_action(draft=draft(f"  {reference} "), actor=users["secas"], now=NOW)
    db.session.commit()
    assert (action.reference, action.group, action.meeting_number, action.meeting_suffix) == (
        reference, group, number, suffix)
    # Found again whatever the case and the space after the slash.
    for spelling in (reference.lower(), reference.replace("/ ", "/"), reference.replace("/", " / ")):
        assert action_service.get_action(spelling, viewer=users["dcc"]).id == action.id
    assert action_service.get_action(action_service.reference_from_slug(action_service.slug(reference)),
                                     viewer=users["dcc"]).id == action.id


def test_case_and_the_space_after_the_slash_never_make_a_second_action(app, users):
    action_service.create_action(draft=draft("OPSG 75/ CONF01"), actor=users["secas"], now=NOW)
    for spelling in ("OPSG 75/CONF01", "opsg 75/ conf01"):
        with pytest.raises(ValidationError) as caught:
            action_service.create_action(draft=draft(spelling), actor=users["secas"], now=NOW)
        assert caught.value.errors["reference"] == [f"{spelling} is already on the register, as OPSG 75/ CONF01."]


@pytest.mark.parametrize("reference", ["OPSG 97-04", "OPSG97/04", "OPSG 97/", "OPSG 97//04", "OPSG 97/4",
                                       "OPSG 97/  04", "OPSG_97/04", "97/04"])
def test_a_bad_reference_is_refused_with_the_shape_expected(app, users, reference):
    with pytest.raises(ValidationError) as caught:
        action_service.create_action(draft=draft(reference), actor=users["secas"], now=NOW)
    message = caught.value.errors["reference"][0]
    assert message.startswith("Reference must look like OPSG 97/04: group, space, meeting number")
    assert "OPSG 75/ CONF01" in message and "OPSG 38x/02" in message and repr(reference) in message


def test_the_wording_is_kept_exactly_as_minuted(app, users):
    wording = "  DCC to  confirm:\n\n- the principles (\"3rd Party\")\n\tand their   basis.  "
    action = action_service.create_action(draft=draft("OPSG 97/04", text=wording), actor=users["secas"], now=NOW)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Action, action.id).text == wording.strip()


@pytest.fixture()
def app_config() -> dict[str, Any]:
    """The default settings (tests that change the pattern override this)."""
    return {}


class TestConfiguredPattern:
    """The reference pattern is configuration, checked when the app starts."""

    @pytest.fixture()
    def app_config(self) -> dict[str, Any]:
        return {"ACTION_REFERENCE_PATTERN": r"(?P<group>[A-Z]{2,10})-(?P<number>\d{1,4})-(?P<item>\d{2})",
                "ACTION_REFERENCE_HINT": "OPSG-97-04"}

    def test_a_configured_pattern_replaces_the_default(self, app, users):
        action = action_service.create_action(draft=draft("OPSG-97-04"), actor=users["secas"], now=NOW)
        assert (action.group, action.meeting_number) == ("OPSG", 97)
        with pytest.raises(ValidationError) as caught:
            action_service.create_action(draft=draft("OPSG 97/05"), actor=users["secas"], now=NOW)
        assert caught.value.errors["reference"][0].startswith("Reference must look like OPSG-97-04;")


@pytest.mark.parametrize(("pattern", "problem"), [
    (r"(?P<group>[A-Z]+ (?P<number>\d+)", "does not compile"),
    (r"(?P<group>[A-Z]+) (?P<number>\d+)/\d{2}", "It lacks item"),
    (42, "does not compile"),
])
def test_a_pattern_that_cannot_work_stops_the_start(app, pattern, problem):
    app.config["ACTION_REFERENCE_PATTERN"] = pattern
    with pytest.raises(RuntimeError) as caught:
        config_module.check(app)
    assert "ACTION_REFERENCE_PATTERN must be a regular expression with the named groups" in str(caught.value)
    assert problem in str(caught.value)


def test_a_tbc_target_plans_no_reminder_until_it_has_a_date(app, users):
    secas = users["secas"]
    action = action_service.create_action(draft=draft("OPSG 97/04", target_on=None), actor=secas, now=NOW)
    db.session.commit()
    assert action.target_on is None and action.original_target_on is None
    assert planned(action) == [] and reminder_service.wanted_for_action(action, now=NOW) == []
    assert action_service.needs_date(action) and not action_service.is_overdue(action, today=date(2099, 1, 1))
    listed, total = action_service.list_actions(filters=action_service.ActionFilters(needs_date=True),
                                                viewer=secas, now=NOW)
    assert [a.reference for a in listed] == ["OPSG 97/04"] and total == 1

    with pytest.raises(ValidationError) as caught:
        action_service.revise_target(action=action, target_on=date(2023, 7, 24), reason="", actor=secas,
                                     expected_version=action.version, now=NOW)
    assert caught.value.errors == {"revision_reason": ["Say why the target date is revised."]}
    action_service.revise_target(action=action, target_on=date(2023, 7, 24), reason="Agreed at OPSG_98.",
                                 actor=secas, expected_version=action.version, now=NOW)
    db.session.commit()
    assert planned(action)[:2] == [date(2023, 7, 17), date(2023, 7, 24)]
    assert not action_service.list_actions(filters=action_service.ActionFilters(needs_date=True), viewer=secas,
                                           now=NOW)[0]
    # And back to TBC: the history keeps both revisions, and the reminders go.
    action_service.revise_target(action=action, target_on=None, reason="Waiting for SECAS.", actor=secas,
                                 expected_version=action.version, now=NOW)
    db.session.commit()
    assert [(r.previous_on, r.target_on) for r in action.revisions] == [(None, date(2023, 7, 24)),
                                                                       (date(2023, 7, 24), None)]
    assert planned(action) == []


def test_the_form_takes_a_minuted_reference_and_tbc(client, auth, users):
    auth.login(users["secas"])
    form = client.get("/actions/new").get_data(as_text=True)
    assert "OPSG 75/ CONF01" in form and "TBC" in form
    response = client.post("/actions/new", data={
        "reference": "OPSG 75/ CONF01", "text": WORDING, "owner_org": "dcc", "raised_on": "2098-06-26",
        "target_on": "tbc"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/actions/OPSG%2075-%20CONF01")
    detail = text_of(client.get(response.headers["Location"]))
    assert "Target TBC Needs a date : no reminder goes until it has one" in detail
    assert "No reminders are planned: its target is TBC." in detail
    assert WORDING in detail
    # An empty target is TBC too.
    assert client.post("/actions/new", data={"reference": "OPSG 38x/02", "text": "SECAS to circulate the pack.",
                                             "owner_org": "secas", "raised_on": "2098-06-26",
                                             "target_on": ""}).status_code == 302
    listing = text_of(client.get("/actions/?needs_date=1"))
    assert "OPSG 75/ CONF01" in listing and "OPSG 38x/02" in listing and listing.count("Needs a date") >= 2
    assert "Only actions that need a date" in listing
    assert client.get("/actions/?needs_date=maybe").status_code == 400

    # Given a date later, with a reason: reminders are planned and the revision from TBC is shown.
    action = db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 75/ CONF01"))
    edit = client.get("/actions/OPSG%2075-%20CONF01/edit").get_data(as_text=True)
    assert 'value="TBC"' in edit
    response = client.post("/actions/OPSG%2075-%20CONF01/edit", data={
        "text": WORDING, "owner_org": "dcc", "target_on": "2099-03-02", "revision_reason": "Agreed at OPSG_98.",
        "status": "open", "closing_note": "", "incidents": "", "version": str(action.version)})
    assert response.status_code == 302
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    assert action.target_on == date(2099, 3, 2) and planned(action)[:2] == [date(2099, 2, 23), date(2099, 3, 2)]
    detail = text_of(client.get("/actions/OPSG%2075-%20CONF01"))
    assert "TBC Mon 2 Mar 2099 Agreed at OPSG_98." in detail


def test_the_form_refuses_a_bad_reference_and_a_bad_target_saying_what_to_write(client, auth, users):
    auth.login(users["opsg"])
    response = client.post("/actions/new", data={"reference": "OPSG 97-04", "text": WORDING, "owner_org": "dcc",
                                                 "raised_on": "2098-06-26", "target_on": "soon"})
    assert response.status_code == 422
    body = text_of(response)
    assert "Enter the target date as day/month/year, e.g. 30/11/2026, or TBC if it is still to be confirmed." in body
    response = client.post("/actions/new", data={"reference": "OPSG 97-04", "text": WORDING, "owner_org": "dcc",
                                                 "raised_on": "2098-06-26", "target_on": "TBC"})
    assert response.status_code == 422
    assert "Reference must look like OPSG 97/04: group, space, meeting number" in text_of(response)


def test_the_owner_dashboard_lists_actions_that_need_a_date(client, auth, users):
    action_service.create_action(draft=draft("OPSG 97/04", target_on=None), actor=users["secas"], now=NOW)
    action_service.create_action(draft=draft("OPSG 97/05", owner_org="secas"), actor=users["secas"], now=NOW)
    db.session.commit()
    auth.login(users["dcc"])
    home = text_of(client.get("/"))
    assert "Actions that need a date (1)" in home
    assert "OPSG 97/04 (DCC, yours)" in home and "Target TBC, raised Mon 26 Jun 2023" in home
    assert "OPSG 97/05 (SECAS" not in home.split("Actions that need a date", 1)[1]


def test_the_csv_and_the_meeting_filter_read_tbc_and_suffixes(client, auth, users):
    action_service.create_action(draft=draft("OPSG 38x/02", target_on=None), actor=users["secas"], now=NOW)
    action_service.create_action(draft=draft("OPSG 38/01"), actor=users["secas"], now=NOW)
    db.session.commit()
    auth.login(users["secas"])
    csv = client.get("/actions/export.csv?needs_date=1").get_data(as_text=True)
    assert "OPSG 38x/02" in csv and "TBC" in csv and "OPSG 38/01" not in csv
    listed, _ = action_service.list_actions(filters=action_service.ActionFilters(meeting="OPSG_38"),
                                            viewer=users["secas"], now=NOW)
    assert sorted(a.reference for a in listed) == ["OPSG 38/01", "OPSG 38x/02"]


def test_actions_minuted_with_a_decision_may_be_tbc(app):
    from incidents.review.forms import parse_actions

    found, problems = parse_actions("OPSG 97/04 | dcc | TBC | " + WORDING + "\nOPSG 97/ CONF01 | secas | x | y")
    assert (found[0].reference, found[0].target_on, found[0].text) == ("OPSG 97/04", None, WORDING)
    assert problems == [("Action 2, target date: Enter the date as day, month and year, e.g. 30/11/2026 or "
                         "30 Nov 2026. Or TBC if it is still to be confirmed.")]

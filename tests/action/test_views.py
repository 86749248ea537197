"""Actions register pages: roles, filters, the detail page, raising and changing actions, stale edits."""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.extensions import db
from incidents.reminder.models import Reminder, ReminderState
from tests import factories

TEXT = ("The DCC to confirm the principles that guide the approach to managing Major Incidents caused by "
        "third-party providers.")


def page(response: Any) -> str:
    """Return the response body as text."""
    return response.get_data(as_text=True)


def error_for(body: str, field_id: str) -> str:
    """Return the text of the error list rendered next to a field ('' when none)."""
    match = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-error">(.*?)</ul>', body, re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def rows(body: str) -> list[str]:
    """Return the register's table rows as plain text."""
    found = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1] if "<tbody>" in body else "", re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in found]


@pytest.fixture()
def register(app, users):
    """The real OPSG 97/04 (revised, closed), an overdue DCC action and an open SECAS action with a later target."""
    incident = factories.incident(actor=users["dcc"], reference="INC000001001905")
    secas = users["secas"]
    real = action_service.create_action(actor=secas, draft=action_service.ActionDraft(
        reference="OPSG 97/04", text=TEXT, owner_org="dcc", owner_user=users["dcc"].email,
        raised_on=date(2023, 6, 26), target_on=date(2023, 7, 24), incidents=[incident.reference]))
    action_service.revise_target(action=real, actor=secas, expected_version=real.version, target_on=date(2023, 9, 25),
                                 reason="The DCC asked to agree the principles with SECAS first.")
    action_service.close_action(action=real, actor=secas, expected_version=real.version,
                                closing_note="Presented at OPSG_100; noted.")
    action_service.create_action(actor=secas, draft=action_service.ActionDraft(
        reference="OPSG 98/01", text="The DCC to report CSP N NTE reset times by region.", owner_org="dcc",
        raised_on=date(2023, 7, 25), target_on=date(2023, 8, 8)))
    action_service.create_action(actor=secas, draft=action_service.ActionDraft(
        reference="OPSG 98/02", text="SECAS to circulate the revised template.", owner_org="secas",
        raised_on=date(2023, 7, 25), target_on=date(2099, 1, 9)))
    db.session.commit()
    return {"real": real, "incident": incident}


def edit_post(action: Action, **overrides: Any) -> dict[str, Any]:
    """Return the edit form as a browser would post it, unchanged unless overridden."""
    data = {"text": action.text, "owner_org": action.owner_org,
            "owner_user": action.owner_user.email if action.owner_user else "",
            "target_on": action.target_on.isoformat(), "revision_reason": "", "status": action.status.value,
            "closing_note": action.closing_note, "incidents": ", ".join(i.reference for i in action.incidents),
            "version": str(action.version)}
    data.update(overrides)
    return data


# --- Who may see and change the register -------------------------------------------

@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "admin"])
def test_readers_see_the_register_and_each_action(client, auth, users, register, role):
    auth.login(users[role])
    listing = client.get("/actions/")
    assert listing.status_code == 200
    assert 'href="/actions/OPSG%2097-04"' in page(listing)
    detail = client.get("/actions/OPSG%2097-04")
    assert detail.status_code == 200
    assert ("Change this action" in page(detail)) is (role != "dcc")


def test_parties_get_not_found_everywhere(client, auth, users, register):
    auth.login(users["party"])
    for url in ("/actions/", "/actions/OPSG%2097-04", "/actions/new", "/actions/OPSG%2097-04/edit"):
        assert client.get(url).status_code == 404, url
    assert client.post("/actions/new", data={"reference": "OPSG 99/01"}).status_code == 404
    assert client.post("/actions/OPSG%2097-04/edit", data={}).status_code == 404
    assert '<a href="/actions/">Actions</a>' not in page(client.get("/calendar"))


def test_the_dcc_reads_but_may_not_change(client, auth, users, register):
    auth.login(users["dcc"])
    assert client.get("/actions/new").status_code == 403
    assert client.post("/actions/new", data={"reference": "OPSG 99/01", "text": "x"}).status_code == 403
    assert client.get("/actions/OPSG%2097-04/edit").status_code == 403
    real = register["real"]
    response = client.post("/actions/OPSG%2097-04/edit", data=edit_post(real, status="open"))
    assert response.status_code == 403
    db.session.refresh(real)
    assert real.status == ActionStatus.CLOSED
    assert "Raise an action" not in page(client.get("/actions/"))


def test_anonymous_visitors_are_sent_to_log_in(client, register):
    response = client.get("/actions/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_nav_links_to_the_register_for_readers_and_the_outbox_for_admins(client, auth, users, register):
    auth.login(users["dcc"])
    body = page(client.get("/actions/"))
    # On the register itself its menu link is marked as the current page.
    assert '<a href="/actions/" aria-current="page">Actions</a>' in body and "/admin/outbox" not in body
    auth.logout()
    auth.login(users["admin"])
    body = page(client.get("/actions/"))
    assert '<a href="/actions/" aria-current="page">Actions</a>' in body and '<a href="/admin/outbox">Outbox</a>' in body
    assert '<a href="/actions/">Actions</a>' in page(client.get("/meetings/"))


# --- The register and its filters ----------------------------------------------------

def test_overdue_rows_carry_a_tag_not_just_a_colour(client, auth, users, register):
    auth.login(users["opsg"])
    listing = rows(page(client.get("/actions/")))
    assert len(listing) == 3
    overdue = [r for r in listing if "Overdue" in r]
    assert len(overdue) == 1 and overdue[0].startswith("OPSG 98/01")
    closed = next(r for r in listing if r.startswith("OPSG 97/04"))
    assert "Closed" in closed and "Overdue" not in closed and "revised 1 time" in closed


@pytest.mark.parametrize("query, expected", [
    ("status=open", ["OPSG 98/01", "OPSG 98/02"]),
    ("status=closed", ["OPSG 97/04"]),
    ("overdue=1", ["OPSG 98/01"]),
    ("owner=secas", ["OPSG 98/02"]),
    ("owner=dcc&status=open", ["OPSG 98/01"]),
    ("meeting=OPSG_97", ["OPSG 97/04"]),
    ("meeting=OPSG_98&overdue=on", ["OPSG 98/01"]),
])
def test_filters(client, auth, users, register, query, expected):
    auth.login(users["secas"])
    response = client.get(f"/actions/?{query}")
    assert response.status_code == 200
    assert sorted(r.split(" ")[0] + " " + r.split(" ")[1] for r in rows(page(response))) == expected


@pytest.mark.parametrize("query, field", [
    ("status=pending", "status"), ("owner=nobody", "owner"), ("meeting=97", "meeting"), ("overdue=maybe", "overdue"),
    ("page=0", "form"), ("per_page=1000", "form"),
])
def test_bad_filters_are_explained_not_a_crash(client, auth, users, register, query, field):
    auth.login(users["secas"])
    response = client.get(f"/actions/?{query}")
    assert response.status_code == 400
    body = page(response)
    assert "There is a problem" in body
    if field != "form":
        assert error_for(body, field)


def test_the_overdue_checkbox_sends_a_value_the_filter_reads(client, auth, users, register):
    auth.login(users["secas"])
    body = page(client.get("/actions/"))
    checkbox = re.search(r'<input[^>]*name="overdue"[^>]*>', body).group(0)
    value = re.search(r'value="([^"]*)"', checkbox).group(1)
    response = client.get(f"/actions/?overdue={value}")
    assert response.status_code == 200 and [r.split(" ")[1] for r in rows(page(response))] == ["98/01"]
    assert "checked" in re.search(r'<input[^>]*name="overdue"[^>]*>', page(response)).group(0)


def test_paging(client, auth, users, register):
    auth.login(users["secas"])
    body = page(client.get("/actions/?per_page=2"))
    assert len(rows(body)) == 2 and "Page 1 of 2" in body
    body = page(client.get("/actions/?per_page=2&page=2"))
    assert len(rows(body)) == 1
    assert "There is no page 5" in page(client.get("/actions/?per_page=2&page=5"))


# --- One action ------------------------------------------------------------------------

def test_the_detail_page_shows_history_incidents_and_reminders(client, auth, users, register):
    auth.login(users["dcc"])
    body = html.unescape(page(client.get("/actions/OPSG%2097-04")))
    assert TEXT in body
    assert "DCC: DCC (DCC)" in body and users["dcc"].email not in body  # the owner by name and organisation
    assert "Mon 26 Jun 2023 at OPSG_97" in body
    assert "Mon 25 Sep 2023 (originally Mon 24 Jul 2023)" in body
    assert "The DCC asked to agree the principles with SECAS first." in body
    assert "Presented at OPSG_100; noted." in body
    assert 'href="/incidents/INC000001001905"' in body
    # Planned when it was raised and revised, called off when it was closed: none left to go.
    states = set(db.session.scalars(sa.select(Reminder.state).where(Reminder.action_id == register["real"].id)))
    assert states == {ReminderState.CANCELLED}
    assert "Cancelled" in body and "Pending" not in body

    open_one = html.unescape(page(client.get("/actions/OPSG%2098-01")))
    assert "Overdue" in open_one and "[Action overdue by" in open_one
    assert "The target date has not been revised" in open_one


@pytest.mark.parametrize("url", ["/actions/OPSG%2097-05", "/actions/nothing", "/actions/%00", "/actions/" + "x" * 300,
                                 "/actions/OPSG%2097/04"])
def test_unknown_actions_are_404(client, auth, users, register, url):
    auth.login(users["secas"])
    assert client.get(url).status_code == 404


# --- Raising an action ------------------------------------------------------------------

def test_secas_raises_an_action_and_its_reminders_are_planned(client, auth, users, register):
    auth.login(users["secas"])
    form = client.get("/actions/new")
    assert form.status_code == 200 and 'id="reference"' in page(form)
    response = client.post("/actions/new", data={
        "reference": "OPSG 99/03", "text": "The DCC to present the capacity test plan (INC000001001877).",
        "owner_org": "dcc", "owner_user": users["dcc"].email, "raised_on": "2098-06-26", "target_on": "2099-03-02",
        "incidents": "inc000001001905"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/actions/OPSG%2099-03")
    action = db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 99/03"))
    assert [i.reference for i in action.incidents] == ["INC000001001905"]
    assert action.owner_user.id == users["dcc"].id
    planned = db.session.scalars(sa.select(Reminder.send_at).where(Reminder.action_id == action.id)
                                 .order_by(Reminder.send_at)).all()
    assert [s.date() for s in planned[:2]] == [date(2099, 2, 23), date(2099, 3, 2)]
    assert "Raised OPSG 99/03" in page(client.get(response.headers["Location"]))


def test_mistakes_are_shown_next_to_their_fields(client, auth, users, register):
    auth.login(users["opsg"])
    response = client.post("/actions/new", data={
        "reference": "OPSG 97/04", "text": "", "owner_org": "nobody", "owner_user": "ghost@example.org",
        "raised_on": "2023-13-01", "target_on": "2023-06-01", "incidents": "INC000000000000"})
    assert response.status_code == 422
    body = page(response)
    assert "There is no month 13" in error_for(body, "raised_on")
    # The form's own error stops there; the service's messages come once the form reads cleanly.
    response = client.post("/actions/new", data={
        "reference": "OPSG 97/04", "text": "", "owner_org": "nobody", "owner_user": "ghost@example.org",
        "raised_on": "2023-07-01", "target_on": "2023-06-01", "incidents": "INC000000000000"})
    body = page(response)
    assert response.status_code == 422
    assert "already on the register" in error_for(body, "reference")
    assert "required" in error_for(body, "text")
    assert "Owner must be one of" in error_for(body, "owner_org")
    assert "No active user ghost@example.org" in error_for(body, "owner_user")
    assert "before the date raised" in error_for(body, "target_on")
    assert "No incident INC000000000000" in error_for(body, "incidents")
    assert 'value="ghost@example.org"' in body


def test_text_is_escaped(client, auth, users, register):
    auth.login(users["secas"])
    client.post("/actions/new", data={"reference": "OPSG 99/04", "text": "<script>alert(1)</script> & more",
                                      "owner_org": "secas", "raised_on": "2023-06-26", "target_on": "2023-07-03"})
    for url in ("/actions/", "/actions/OPSG%2099-04"):
        body = page(client.get(url))
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body


# --- Changing an action -------------------------------------------------------------------

@pytest.fixture()
def open_action(register):
    return db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 98/02"))


def test_revising_the_target_needs_a_reason_and_keeps_the_history(client, auth, users, open_action):
    auth.login(users["opsg"])
    url = "/actions/OPSG%2098-02/edit"
    form = page(client.get(url))
    assert 'name="version" type="hidden" value="1"' in form
    response = client.post(url, data=edit_post(open_action, target_on="2099-02-06"))
    assert response.status_code == 422
    assert "Say why the target date is revised." in error_for(page(response), "revision_reason")
    response = client.post(url, data=edit_post(open_action, target_on="2099-02-06",
                                               revision_reason="Waiting for the Panel's view."))
    assert response.status_code == 302
    body = html.unescape(page(client.get("/actions/OPSG%2098-02")))
    assert "Fri 9 Jan 2099" in body and "Fri 6 Feb 2099" in body and "Waiting for the Panel's view." in body
    assert users["opsg"].person in body and users["opsg"].email not in body
    db.session.expire_all()
    due = db.session.scalars(sa.select(Reminder.send_at).where(Reminder.action_id == open_action.id,
                                                               Reminder.state == ReminderState.PENDING)
                             .order_by(Reminder.send_at)).all()
    assert [d.date() for d in due[:2]] == [date(2099, 1, 30), date(2099, 2, 6)]


def test_closing_needs_a_note_and_cancels_the_reminders(client, auth, users, open_action):
    auth.login(users["secas"])
    url = "/actions/OPSG%2098-02/edit"
    response = client.post(url, data=edit_post(open_action, status="closed"))
    assert response.status_code == 422
    assert "closing note" in error_for(page(response), "closing_note")
    response = client.post(url, data=edit_post(open_action, status="closed", closing_note="Circulated on 1 Aug."))
    assert response.status_code == 302
    db.session.expire_all()
    states = set(db.session.scalars(sa.select(Reminder.state).where(Reminder.action_id == open_action.id)))
    assert states == {ReminderState.CANCELLED}
    body = page(client.get("/actions/OPSG%2098-02"))
    assert "Circulated on 1 Aug." in body and '<span class="tag good">Closed</span>' in body


def test_a_stale_edit_is_refused_and_keeps_the_input(client, auth, users, open_action):
    auth.login(users["secas"])
    url = "/actions/OPSG%2098-02/edit"
    stale = edit_post(open_action, text="My wording, typed while someone else saved.")
    # Someone else saves first.
    assert client.post(url, data=edit_post(open_action, text="Their wording.")).status_code == 302
    response = client.post(url, data=stale)
    assert response.status_code == 409
    body = html.unescape(page(response))
    assert "Someone else changed this action while you were editing" in body
    assert "Their wording." in body and "My wording, typed while someone else saved." in body
    assert 'name="version" type="hidden" value="2"' in body
    db.session.expire_all()
    assert db.session.get(Action, open_action.id).text == "Their wording."
    # Saving again on purpose, with the fresh version, goes through.
    assert client.post(url, data={**stale, "version": "2"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Action, open_action.id).text == "My wording, typed while someone else saved."


@pytest.mark.parametrize("version", ["", "abc", "99999999999"])
def test_a_missing_or_garbled_version_is_stale_not_a_crash(client, auth, users, open_action, version):
    auth.login(users["secas"])
    response = client.post("/actions/OPSG%2098-02/edit", data=edit_post(open_action, version=version))
    assert response.status_code == 409

"""Reminder pages: an incident's reminders, the administrators' outbox, and the iCalendar feed."""
from __future__ import annotations

import hashlib
import html
import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.reminder import jobs
from incidents.review import service as review_service
from incidents.user import service as user_service
from incidents.user.models import User
from tests import factories
from tests.reminder.helpers import uk


def page(response: Any) -> str:
    """Return the response body as text."""
    return response.get_data(as_text=True)


def table_rows(body: str) -> list[str]:
    """Return the rows of every table body on the page, in order, as plain text."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", body, re.DOTALL)
    found = [row for part in bodies for row in re.findall(r"<tr[^>]*>(.*?)</tr>", part, re.DOTALL)]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in found]


def tables(body: str) -> list[list[str]]:
    """Return each table's body rows as plain text, one list per table."""
    return [table_rows(f"<tbody>{part}</tbody>") for part in re.findall(r"<tbody>(.*?)</tbody>", body, re.DOTALL)]


@pytest.fixture()
def case(app, users):
    created = uk(date(2023, 4, 4), 11, 0)
    incident = factories.incident(actor=users["dcc"], now=created, reference="INC000001001905")
    db.session.commit()
    return incident


# --- An incident's reminders ----------------------------------------------------------

@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "admin"])
def test_readers_of_incidents_see_its_reminders(client, auth, users, case, role):
    auth.login(users[role])
    response = client.get("/incidents/INC000001001905/reminders")
    assert response.status_code == 200
    listed = table_rows(page(response))
    assert len(listed) == 9
    assert listed[0].startswith("Wed 5 Apr 2023 09:00 BST [Summary Report due in 1 working day] INC000001001905")
    assert "dcc-major-incidents@dcc.example" in listed[0] and "Pending" in listed[0]


def test_sent_failed_and_cancelled_reminders_say_so(client, auth, users, case, smtp):
    jobs.sweep(now=uk(date(2023, 4, 5)), worker="w")
    smtp.stop()
    jobs.sweep(now=uk(date(2023, 4, 6)), worker="w")
    done = uk(date(2023, 4, 6), 12, 0)
    review_service.mark_summary_submitted(incident=case, actor=users["dcc"], now=done)
    db.session.commit()
    auth.login(users["dcc"])
    body = page(client.get("/incidents/INC000001001905/reminders"))
    live, cancelled = tables(body)
    assert "Sent Wed 5 Apr 2023 09:00 BST" in live[0] and live[0].endswith("1")
    assert not any("Cancelled" in row for row in live)
    # The cancelled ones are folded away under their count; the failed one was cancelled when the Summary
    # Report went in, and its error stays on record.
    folded = body[body.index('<details class="folded">'):]
    assert f"<summary>{len(cancelled)} cancelled reminder" in folded and "<tbody>" in folded
    assert all("Cancelled" in row for row in cancelled)
    assert any("Connection refused" in row for row in cancelled)


def test_parties_and_unknown_incidents_get_not_found(client, auth, users, case):
    auth.login(users["party"])
    assert client.get("/incidents/INC000001001905/reminders").status_code == 404
    auth.logout()
    auth.login(users["dcc"])
    assert client.get("/incidents/INC000009999999/reminders").status_code == 404
    assert client.get("/incidents/%00/reminders").status_code == 404


# --- The outbox -----------------------------------------------------------------------------

@pytest.fixture()
def outbox(app, users, case, smtp):
    """Two sent, one failed and waiting to retry, the rest pending."""
    # A sweep on each day: a first sweep on the 6th alone would send one catch-up for the Summary Report.
    jobs.sweep(now=uk(date(2023, 4, 5)), worker="w")
    jobs.sweep(now=uk(date(2023, 4, 6)), worker="w")
    smtp.stop()
    jobs.sweep(now=uk(date(2023, 4, 27)), worker="w")
    smtp.start()
    return case


def test_only_administrators_see_the_outbox(client, auth, users, outbox):
    for role in ("dcc", "secas", "opsg", "party"):
        auth.login(users[role])
        assert client.get("/admin/outbox").status_code == 403, role
        auth.logout()
    assert client.get("/admin/outbox").status_code == 302


def test_the_outbox_lists_every_state_with_attempts_and_errors(client, auth, users, outbox):
    auth.login(users["admin"])
    body = page(client.get("/admin/outbox"))
    upcoming, done = tables(body)
    assert len(upcoming) == 7 and len(done) == 2
    failed = [row for row in upcoming if "Failed, will retry" in row]
    assert len(failed) == 1
    assert "Review Report due in 5 working days" in failed[0] and "Connection refused" in failed[0]
    assert "next try Thu 27 Apr 2023 09:02 BST" in failed[0]
    # "About" names the record in words, linked to it.
    assert "Review of INC000001001905" in failed[0]
    assert '<a href="/incidents/INC000001001905/review">Review of INC000001001905</a>' in body


def test_the_outbox_puts_what_is_to_go_apart_and_the_latest_sent_first(client, auth, users, outbox):
    auth.login(users["admin"])
    body = page(client.get("/admin/outbox"))
    assert body.index('id="upcoming"') < body.index('id="done"')
    upcoming, done = tables(body)
    # Still to go: soonest first. Done: the one sent last heads the list.
    assert [row.split(" [")[0] for row in upcoming] == sorted(
        (row.split(" [")[0] for row in upcoming), key=lambda text: (text.split()[3], text.split()[2]))
    assert "Sent Thu 6 Apr 2023" in done[0] and "Sent Wed 5 Apr 2023" in done[1]
    # A filter on a finished state lists most recent first too; a waiting state soonest first.
    sent = table_rows(page(client.get("/admin/outbox?state=sent")))
    assert "Sent Thu 6 Apr 2023" in sent[0]
    pending = table_rows(page(client.get("/admin/outbox?state=pending")))
    assert pending[0].startswith("Thu 27 Apr 2023")


def test_the_outbox_shows_only_the_next_ten_to_go_and_links_to_the_rest(client, auth, users, outbox):
    for number in range(3):
        action_service.create_action(actor=users["secas"], now=uk(date(2023, 4, 6)), draft=action_service.ActionDraft(
            reference=f"OPSG 139/0{number}", text="DCC to report NTE reset times.", owner_org="dcc",
            raised_on=date(2023, 4, 6), target_on=date(2023, 5, 20 + number)))
    db.session.commit()
    auth.login(users["admin"])
    body = page(client.get("/admin/outbox"))
    upcoming, _ = tables(body)
    assert len(upcoming) == 10
    waiting = len(table_rows(page(client.get("/admin/outbox?state=pending"))))
    assert waiting > 10
    assert f'<a href="/admin/outbox?state=pending">See all {waiting} reminders still to go</a>' in body
    actions = table_rows(page(client.get("/admin/outbox?state=pending&per_page=100")))
    assert any("Action OPSG 139/00" in row for row in actions)
    assert '>Action OPSG 139/00</a>' in page(client.get("/admin/outbox?state=pending&per_page=100"))


@pytest.mark.parametrize("state, count, needle", [
    ("sent", 2, "Apr 2023 09:00 BST"),
    ("failed", 1, "Connection refused"),
    ("pending", 7, "Pending"),
    ("cancelled", 0, None),
    ("sending", 0, None),
])
def test_the_outbox_filters_by_state(client, auth, users, outbox, state, count, needle):
    auth.login(users["admin"])
    response = client.get(f"/admin/outbox?state={state}")
    assert response.status_code == 200
    listed = table_rows(page(response))
    assert len(listed) == count
    if needle and state != "pending":
        assert all(needle in row for row in listed)
    elif state == "pending":
        assert sum("Pending" in row for row in listed) == 6
    else:
        assert "No reminders in this state." in page(response)


def test_the_outbox_pages_and_explains_a_bad_filter(client, auth, users, outbox):
    auth.login(users["admin"])
    first = page(client.get("/admin/outbox?state=pending&per_page=3"))
    assert len(table_rows(first)) == 3 and "Page 1 of 3" in first
    assert 'href="/admin/outbox?page=2&amp;state=pending&amp;per_page=3"' in first
    assert len(table_rows(page(client.get("/admin/outbox?state=pending&per_page=3&page=3")))) == 1
    # Without a filter the pages are those of what was sent or cancelled; what is to go heads the first only.
    assert len(tables(page(client.get("/admin/outbox?per_page=1&page=2")))) == 1
    bad = client.get("/admin/outbox?state=lost")
    assert bad.status_code == 400 and "State must be one of" in page(bad)
    assert client.get("/admin/outbox?page=x").status_code == 400


# --- The calendar feed -------------------------------------------------------------------------

def feed_url(client: Any, flashed: str = "") -> str:
    """Create the logged-in person's feed link and return its path."""
    assert client.post("/calendar/token").status_code == 302
    response = client.get("/calendar")
    body = page(response)
    assert flashed in body
    match = re.search(r'<pre class="token">http://localhost(/calendar/[A-Za-z0-9_-]+\.ics)</pre>', body)
    assert match, body
    assert response.headers["Cache-Control"] == "no-store"
    return match.group(1)


def test_a_feed_link_is_shown_once_and_kept_only_as_a_hash(client, auth, users, deadlines):
    auth.login(users["dcc"])
    url = feed_url(client)
    token = url.removeprefix("/calendar/").removesuffix(".ics")
    again = page(client.get("/calendar"))
    assert token not in again and "You have a feed link" in again and "Replace the link" in again
    stored = db.session.scalar(sa.select(User.calendar_token_hash).where(User.id == users["dcc"].id))
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert events(client, url)  # the link works, from its hash
    client.post("/logout")
    auth.login(users["secas"])
    assert "You have no feed link yet." in page(client.get("/calendar"))  # one person's link is not another's


def events(client: Any, url: str) -> list[tuple[date, str]]:
    """Fetch a feed without logging in and return its (day, summary) events."""
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.get_data())
    found = []
    for event in calendar.walk("VEVENT"):
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert end - start == timedelta(days=1)  # all-day
        assert event["uid"].endswith("@incidents.example") and event["url"].startswith("http://127.0.0.1:5000/")
        found.append((start, str(event["summary"])))
    return found


@pytest.fixture()
def deadlines(app, users, case):
    """An exclusion waiting for SECAS, a meeting ahead, open actions of the DCC and SECAS, a closed one."""
    principle_service.seed_defaults()
    other = factories.incident(actor=users["dcc"], now=uk(date(2023, 4, 20), 12, 0), reference="INC000001001932",
                               resolved_at=uk(date(2023, 4, 12), 17, 5), started_at=uk(date(2023, 4, 12), 14, 10))
    review_service.propose(incident=other, exclude=True, principle="planned-maintenance", actor=users["dcc"],
                           rationale="Inside a notified maintenance window.", now=uk(date(2023, 4, 14), 10, 0))
    review_service.mark_summary_submitted(incident=other, actor=users["dcc"], now=uk(date(2023, 4, 14), 10, 0))
    meeting_service.schedule(reference="OPSG_300", held_on=date(2099, 6, 30), actor=users["secas"])
    meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"])
    for reference, owner, target in (("OPSG 97/04", "dcc", date(2099, 7, 24)), ("OPSG 97/05", "secas",
                                                                                   date(2099, 8, 1))):
        action_service.create_action(actor=users["secas"], draft=action_service.ActionDraft(
            reference=reference, text=f"{owner} to do it", owner_org=owner,
            raised_on=date(2023, 6, 26), target_on=target))
    closed = action_service.create_action(actor=users["secas"], draft=action_service.ActionDraft(
        reference="OPSG 97/06", text="Done already", owner_org="dcc", raised_on=date(2023, 6, 26),
        target_on=date(2099, 7, 1)))
    action_service.close_action(action=closed, actor=users["secas"], expected_version=closed.version,
                                closing_note="Done.")
    db.session.commit()


def test_dcc_feed_has_report_due_dates_meetings_and_its_own_actions(client, auth, users, deadlines):
    auth.login(users["dcc"])
    url = feed_url(client)
    auth.logout()
    assert events(client, url) == [
        (date(2023, 4, 6), "Summary Report due: INC000001001905"),
        (date(2023, 5, 5), "Review Report due: INC000001001905"),
        (date(2023, 5, 12), "Review Report due: INC000001001932"),
        (date(2099, 6, 30), "OPSG_300 (Main meeting)"),
        (date(2099, 7, 24), "Action OPSG 97/04 due"),
    ]


def test_secas_feed_has_pending_exclusion_reviews_meetings_and_its_own_actions(client, auth, users, deadlines):
    auth.login(users["secas"])
    url = feed_url(client)
    auth.logout()
    assert events(client, url) == [
        (date(2023, 4, 21), "Exclusion review: INC000001001932"),
        (date(2099, 6, 30), "OPSG_300 (Main meeting)"),
        (date(2099, 8, 1), "Action OPSG 97/05 due"),
    ]


def test_the_exclusion_review_event_gives_the_proposal_day_as_every_page_writes_a_date(client, auth, users,
                                                                                        deadlines):
    auth.login(users["secas"])
    url = feed_url(client)
    auth.logout()
    calendar = Calendar.from_ical(client.get(url).get_data())
    described = [str(event.get("description")) for event in calendar.walk("VEVENT")
                 if str(event.get("summary")).startswith("Exclusion review")]
    assert len(described) == 1
    assert re.search(r"from the PMR on (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [1-9]\d? [A-Z][a-z]{2} \d{4} \(round 1\)",
                     described[0]), described


def test_a_party_feed_is_a_valid_empty_calendar(client, auth, users, deadlines):
    auth.login(users["party"])
    url = feed_url(client)
    auth.logout()
    assert events(client, url) == []


def test_replacing_the_link_retires_the_old_one_and_unknown_links_are_404(client, auth, users, deadlines):
    auth.login(users["opsg"])
    first = feed_url(client, "Feed link created.")
    second = feed_url(client, "New feed link created; the old link no longer works.")
    assert first != second
    auth.logout()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    for bad in ("/calendar/nothing.ics", "/calendar/%00.ics", "/calendar/" + "a" * 100 + ".ics",
                "/calendar/%3Cscript%3E.ics"):
        assert client.get(bad).status_code == 404, bad


def test_a_deactivated_user_loses_the_feed(client, auth, users, deadlines):
    auth.login(users["opsg"])
    url = feed_url(client)
    auth.logout()
    user_service.set_active(user=users["opsg"], active=False, actor=users["admin"])
    db.session.commit()
    assert client.get(url).status_code == 404


def test_the_calendar_page_needs_a_login_and_the_token_a_post(client, auth, users, deadlines):
    assert client.get("/calendar").status_code == 302
    auth.login(users["dcc"])
    body = page(client.get("/calendar"))
    assert "Create my feed link" in body and 'class="token"' not in body
    assert "Summary Report due: INC000001001905" in body
    assert client.get("/calendar/token").status_code == 405


def test_the_calendar_page_lists_a_bounded_slice_and_says_how_many_more(client, auth, users, deadlines, monkeypatch):
    from incidents.reminder import views as reminder_views

    auth.login(users["dcc"])
    assert page(client.get("/calendar")).count("<li><time") >= 2
    monkeypatch.setattr(reminder_views, "PASSED_SHOWN", 1)
    monkeypatch.setattr(reminder_views, "CALENDAR_SHOWN", 1)
    body = page(client.get("/calendar"))
    assert body.count("<li><time") <= 2  # one passed, at most one coming
    total = int(re.search(r"Passed and not yet met \((\d+)\)", body).group(1))
    assert total >= 2 and "The latest 1 are listed; the feed keeps all of them until they are met." in body

"""Reading dates and times as people in the UK write them: day first, the year in full, UK clock time."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidents.timeutil import (
    format_date,
    format_date_input,
    format_input,
    parse_date,
    parse_local,
    parse_month,
)

# 30 November 2026 is in winter: UK time is GMT, so 09:12 local is 09:12 UTC.
WINTER = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "30/11/2026 09:12", "30/11/2026 9:12", "30 Nov 2026 9:12", "30 November 2026 09:12", "30-11-2026 09:12",
    "2026-11-30T09:12", "2026-11-30 09:12", "30.11.2026 09:12", "30 nov 2026 09:12", "30 NOVEMBER 2026 9:12",
    "30th November 2026 09:12", "Mon 30 Nov 2026 09:12", "Monday, 30 November 2026 at 09:12", "30/11/2026, 09:12",
    "30/11/2026 09:12 GMT", "30/11/2026 9.12", "30/11/2026 9:12am", "  30/11/2026   09:12  ", "30 Nov. 2026 09:12",
    "2026-11-30 09:12:00",
])
def test_every_uk_way_of_writing_a_date_and_time_is_read(text):
    assert parse_local(text) == WINTER


def test_day_first_always_and_summer_time_applies():
    # 04/05/2026 is 4 May (BST), never 5 April.
    assert parse_local("04/05/2026 10:00") == datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    assert parse_local("4/5/2026 10:00") == datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    assert parse_local("12/01/2026 10:00") == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)


def test_am_and_pm_are_read_and_the_24_hour_clock_is_the_default():
    assert parse_local("30/11/2026 9:12 pm") == datetime(2026, 11, 30, 21, 12, tzinfo=UTC)
    assert parse_local("30/11/2026 12:05am") == datetime(2026, 11, 30, 0, 5, tzinfo=UTC)
    assert parse_local("30/11/2026 12:05 p.m.") == datetime(2026, 11, 30, 12, 5, tzinfo=UTC)
    assert parse_local("30/11/2026 21:12") == datetime(2026, 11, 30, 21, 12, tzinfo=UTC)


@pytest.mark.parametrize("text, message", [
    ("11/30/2026 09:12", "Write the day first, then the month, e.g. 30/11/2026 09:12."),
    ("Nov 30 2026 09:12", "Write the day before the month, e.g. 30 Nov 2026"),
    ("November 30, 2026 09:12", "Write the day before the month"),
    ("30/13/2026 09:12", "There is no month 13: write the day, then the month, then the year, e.g. 30/11/2026 09:12."),
    ("30/11/26 09:12", "Write the year in full, with 4 digits, e.g. 30/11/2026 09:12."),
    ("30 Nov 26 09:12", "Write the year in full"),
    ("30/11/202 09:12", "Write the year in full"),
    ("31/02/2026 09:12", "February 2026 has 28 days: check the day, e.g. 30/11/2026 09:12."),
    ("29/02/2026 09:12", "February 2026 has 28 days"),
    ("31/04/2026 09:12", "April 2026 has 30 days"),
    ("0/11/2026 09:12", "That date does not exist"),
    ("2026-00-10 09:12", "There is no month 0"),
    ("30 Novembre 2026 09:12", "'Novembre' is not a month"),
    ("30/11/2026 24:00", "24:00 is not a time: use the 24-hour clock, from 00:00 to 23:59, e.g. 30/11/2026 09:12."),
    ("30/11/2026 09:60", "09:60 is not a time"),
    ("30/11/2026 13:00 pm", "13:00 pm is not a time: with am or pm the hour goes from 1 to 12"),
    ("30/11/2026", "Add the time, in UK time on the 24-hour clock, e.g. 30/11/2026 09:12."),
    ("tea time", "Enter the date and time as day/month/year then the time, e.g. 30/11/2026 09:12"),
    ("", "Enter the date and time as day/month/year"),
    ("2026-11-30T09:12:00+01:00", "Enter the date and time as day/month/year"),
    ("30/11/2026 09:12 CET", "Enter the date and time as day/month/year"),
    ("٣٠/١١/٢٠٢٦ 09:12", "Enter the date as day/month/year"),  # only ASCII digits are read
    ("30/11-2026 09:12", "Enter the date as day/month/year before the time"),
])
def test_wrong_orders_impossible_dates_and_unreadable_text_say_what_to_type(text, message):
    with pytest.raises(ValueError) as refused:
        parse_local(text)
    assert message in str(refused.value)


# --- The clock changes (unchanged rule: the repeated hour needs BST or GMT; the skipped hour is refused) ----------

@pytest.mark.parametrize("text", ["29/10/2023 01:30", "2023-10-29 01:30", "29 Oct 2023 1:30"])
def test_the_hour_that_happens_twice_needs_bst_or_gmt(text):
    with pytest.raises(ValueError) as refused:
        parse_local(text)
    assert str(refused.value) == ("01:30 on 29 Oct 2023 happens twice (the clocks go back); "
                                  "add BST for the first or GMT for the second.")


@pytest.mark.parametrize("text, expected", [
    ("29/10/2023 01:30 BST", datetime(2023, 10, 29, 0, 30, tzinfo=UTC)),
    ("29 Oct 2023 1:30 bst", datetime(2023, 10, 29, 0, 30, tzinfo=UTC)),
    ("29/10/2023 01:30 GMT", datetime(2023, 10, 29, 1, 30, tzinfo=UTC)),
    ("2023-10-29 01:30 GMT", datetime(2023, 10, 29, 1, 30, tzinfo=UTC)),
])
def test_bst_or_gmt_settles_the_repeated_hour(text, expected):
    assert parse_local(text) == expected


@pytest.mark.parametrize("text", ["26/03/2023 01:30", "2023-03-26 01:30", "26 Mar 2023 1:30"])
def test_the_hour_skipped_when_clocks_go_forward_is_refused(text):
    with pytest.raises(ValueError) as refused:
        parse_local(text)
    assert str(refused.value) == ("01:30 on 26 Mar 2023 does not exist in UK time (the clocks go forward); "
                                  "enter the time as shown on a clock that day.")


def test_a_zone_that_does_not_fit_the_date_is_refused():
    with pytest.raises(ValueError, match="is not a BST time in the UK"):
        parse_local("30/11/2026 09:12 BST")


def test_a_date_time_field_shows_its_value_day_first_with_the_zone():
    assert format_input(WINTER) == "30/11/2026 09:12 GMT"
    assert format_input(datetime(2023, 4, 4, 9, 40, tzinfo=UTC)) == "04/04/2023 10:40 BST"
    assert parse_local(format_input(datetime(2023, 10, 29, 0, 30, tzinfo=UTC))) == datetime(2023, 10, 29, 0, 30,
                                                                                             tzinfo=UTC)
    assert format_input(None) == ""


# --- Dates without a time -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "30/11/2026", "30-11-2026", "30.11.2026", "30 Nov 2026", "30 November 2026", "30th Nov 2026", "Mon 30 Nov 2026",
    "2026-11-30", " 30/11/2026 ",
])
def test_a_date_is_read_as_written_in_the_uk_or_iso(text):
    assert parse_date(text) == date(2026, 11, 30)


def test_a_date_is_day_first():
    assert parse_date("04/05/2026") == date(2026, 5, 4)
    assert parse_date("1/2/2027") == date(2027, 2, 1)


@pytest.mark.parametrize("text, message", [
    ("11/30/2026", "Write the day first, then the month, e.g. 30/11/2026."),
    ("Nov 30, 2026", "Write the day before the month, e.g. 30 Nov 2026 or 30/11/2026."),
    ("30/11/26", "Write the year in full, with 4 digits, e.g. 30/11/2026."),
    ("31/02/2026", "February 2026 has 28 days: check the day, e.g. 30/11/2026."),
    ("2026-02-31", "February 2026 has 28 days"),
    ("30/11/2026 09:12", "Enter the date only, without a time, e.g. 30/11/2026."),
    ("next Tuesday", "Enter the date as day, month and year, e.g. 30/11/2026 or 30 Nov 2026."),
    ("", "Enter the date as day, month and year"),
])
def test_a_wrong_date_says_what_to_type(text, message):
    with pytest.raises(ValueError) as refused:
        parse_date(text)
    assert message in str(refused.value)


def test_a_date_is_shown_as_the_uk_writes_it_with_or_without_the_days_name():
    assert format_date(date(2023, 4, 6)) == "Thu 6 Apr 2023"
    assert format_date(date(2023, 4, 6), with_day=False) == "6 Apr 2023"
    # An instant's date is its UK date: 23:30 UTC on 31 May 2023 is 1 June in BST.
    assert format_date(datetime(2023, 5, 31, 23, 30, tzinfo=UTC), with_day=False) == "1 Jun 2023"
    assert format_date(None) == ""


def test_a_date_field_shows_its_value_day_first():
    assert format_date_input(date(2026, 11, 30)) == "30/11/2026"
    assert format_date_input(date(2027, 2, 1)) == "01/02/2027"
    assert format_date_input(None) == ""


# --- Months (the PMR month picker) --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["04/2023", "4/2023", "04-2023", "Apr 2023", "April 2023", "apr. 2023", "2023-04"])
def test_a_month_is_read_as_written_in_the_uk_or_iso(text):
    assert parse_month(text) == (2023, 4)


@pytest.mark.parametrize("text, message", [
    ("13/2023", "There is no month 13: months go from 1 to 12, e.g. 04/2023 or Apr 2023."),
    ("04/23", "Write the year in full, with 4 digits, e.g. 04/2023 or Apr 2023."),
    ("Apr 23", "Write the year in full"),
    ("April", "Enter the month and the year, e.g. 04/2023 or Apr 2023."),
    ("Avril 2023", "Enter the month and the year"),
    ("", "Enter the month and the year"),
])
def test_a_wrong_month_says_what_to_type(text, message):
    with pytest.raises(ValueError) as refused:
        parse_month(text)
    assert message in str(refused.value)

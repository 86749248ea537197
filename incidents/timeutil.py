"""UK local time for people, UTC for storage."""
from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC; always return aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC; refuse naive input."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Mark a stored naive datetime as UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def local_zone() -> ZoneInfo:
    """Return the configured zone for people (Europe/London by default)."""
    name = current_app.config["TIMEZONE"] if has_app_context() else "Europe/London"
    return ZoneInfo(name)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def to_local(value: datetime) -> datetime:
    """Convert an aware datetime to UK local time."""
    return value.astimezone(local_zone())


def local_date(value: datetime) -> date:
    """Return the UK calendar date of an aware datetime."""
    return to_local(value).date()


def format_local(value: datetime | None, *, with_day: bool = True) -> str:
    """Format as UK local time with the zone visible, e.g. 'Tue 4 Apr 2023 10:40 BST'."""
    if value is None:
        return ""
    local = to_local(value)
    day = local.strftime("%a ") if with_day else ""
    return f"{day}{local.day} {local.strftime('%b %Y %H:%M')} {local.tzname()}"


def format_target(value: date | None) -> str:
    """Format a target date, or 'TBC' when it is still to be confirmed (no date)."""
    return "TBC" if value is None else format_date(value)


def format_date(value: date | datetime | None, *, with_day: bool = True) -> str:
    """Format a date, or an instant's UK date, as 'Thu 6 Apr 2023' (or '6 Apr 2023' without the day's name)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    day = f"{value:%a} " if with_day else ""
    return f"{day}{value.day} {value:%b %Y}"


def format_time(value: datetime | None) -> str:
    """Format an instant's UK clock time with its zone, e.g. '10:40 BST'."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{local:%H:%M} {local.tzname()}"


def format_input(value: datetime | None) -> str:
    """Format for a date-time field, day first in UK local time with its zone: '30/11/2026 09:12 GMT'."""
    if value is None:
        return ""
    local = to_local(value)
    return local.strftime("%d/%m/%Y %H:%M ") + (local.tzname() or "")


# --- Reading dates and times as people in the UK write them -----------------------------------------------------
# Day first always: 04/05/2026 is 4 May, never 5 April. ISO 8601 (year first) is read too.

DATE_EXAMPLE = "30/11/2026"
DATE_TIME_EXAMPLE = "30/11/2026 09:12"
DATE_HINT = f"For example, {DATE_EXAMPLE}"
DATE_TIME_HINT = f"For example, {DATE_TIME_EXAMPLE}"
# The one hint a form with date-time fields shows once, near its first date-time field.
DATE_TIME_FORM_HINT = (f"Dates and times are UK time (GMT/BST), day first, for example {DATE_TIME_EXAMPLE} or "
                       "30 Nov 2026 9:12. Add BST or GMT only for the hour that happens twice when the clocks go back.")

_MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTH_NAMES |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTH_NAMES["sept"] = 9
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_NUMBER_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d+)$", re.ASCII)
_WORD_DATE = re.compile(_WEEKDAY + r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d+)$", re.IGNORECASE | re.ASCII)
_MONTH_FIRST = re.compile(_WEEKDAY + r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d+)$", re.IGNORECASE | re.ASCII)
_DATE_AND_TIME = re.compile(
    r"^\s*(?P<day>.+?)(?:\s*,\s*|\s+at\s+|\s+|T)"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<half>[ap]\.?m\.?)?"
    r"(?:\s*(?P<zone>GMT|BST))?\s*$",
    re.IGNORECASE | re.ASCII,
)


def _read_day(text: str, example: str) -> date:
    """Return the date that text names, day first; raise ValueError saying how to write it."""
    text = " ".join(text.split())
    year: str
    if match := _ISO_DATE.match(text):
        year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    elif match := _NUMBER_DATE.match(text):
        day, month, year = int(match.group(1)), int(match.group(3)), match.group(4)
        if month > 12:
            if day <= 12:
                raise ValueError(f"Write the day first, then the month, e.g. {example}.")
            raise ValueError(f"There is no month {month}: write the day, then the month, then the year, "
                             f"e.g. {example}.")
    elif match := _WORD_DATE.match(text):
        day, name, year = int(match.group(1)), match.group(2).lower(), match.group(3)
        if name not in _MONTH_NAMES:
            raise ValueError(f"'{match.group(2)}' is not a month: write it as a word or a number, e.g. "
                             f"30 Nov 2026 or {example}.")
        month = _MONTH_NAMES[name]
    elif (match := _MONTH_FIRST.match(text)) and match.group(1).lower() in _MONTH_NAMES:
        raise ValueError(f"Write the day before the month, e.g. 30 Nov 2026 or {example}.")
    else:
        raise ValueError("")
    if len(year) != 4:
        raise ValueError(f"Write the year in full, with 4 digits, e.g. {example}.")
    if not 1 <= month <= 12:
        raise ValueError(f"There is no month {month}: months go from 1 to 12, e.g. {example}.")
    try:
        return date(int(year), month, day)
    except ValueError:
        pass
    if int(year) >= 1 and day > 0:
        days = calendar.monthrange(int(year), month)[1]
        raise ValueError(f"{calendar.month_name[month]} {year} has {days} days: check the day, e.g. {example}.")
    raise ValueError(f"That date does not exist: check the day, month and year, e.g. {example}.")


def parse_date(text: str) -> date:
    """Read a calendar date as written in the UK (30/11/2026, 30-11-2026, 30 Nov 2026) or as ISO 2026-11-30.

    Always day first: 04/05/2026 is 4 May. Raises ValueError with a message that says what to type.
    """
    try:
        return _read_day(text or "", DATE_EXAMPLE)
    except ValueError as exc:
        if str(exc):
            raise
    if _DATE_AND_TIME.match(text or ""):
        raise ValueError(f"Enter the date only, without a time, e.g. {DATE_EXAMPLE}.")
    raise ValueError(f"Enter the date as day, month and year, e.g. {DATE_EXAMPLE} or 30 Nov 2026.")


MONTH_EXAMPLE = "04/2023 or Apr 2023"
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII)
_NUMBER_MONTH = re.compile(r"^(\d{1,2})[/.-](\d+)$", re.ASCII)
_WORD_MONTH = re.compile(r"^([a-z]+)\.?,?\s+(\d+)$", re.IGNORECASE | re.ASCII)


def parse_month(text: str) -> tuple[int, int]:
    """Read a calendar month as written in the UK (04/2023, Apr 2023, April 2023) or as ISO 2023-04.

    Returns (year, month); raises ValueError with a message that says what to type.
    """
    text = " ".join((text or "").split())
    if match := _ISO_MONTH.match(text):
        year, month = match.group(1), int(match.group(2))
    elif match := _NUMBER_MONTH.match(text):
        month, year = int(match.group(1)), match.group(2)
    elif (match := _WORD_MONTH.match(text)) and match.group(1).lower() in _MONTH_NAMES:
        month, year = _MONTH_NAMES[match.group(1).lower()], match.group(2)
    else:
        raise ValueError(f"Enter the month and the year, e.g. {MONTH_EXAMPLE}.")
    if len(year) != 4:
        raise ValueError(f"Write the year in full, with 4 digits, e.g. {MONTH_EXAMPLE}.")
    if not 1 <= month <= 12:
        raise ValueError(f"There is no month {month}: months go from 1 to 12, e.g. {MONTH_EXAMPLE}.")
    return int(year), month


def format_date_input(value: date | None) -> str:
    """Format a date for a date field, day first: '30/11/2026'."""
    return "" if value is None else f"{value:%d/%m/%Y}"


def _read_clock(match: re.Match[str]) -> time:
    """Return the clock time a matched date-time names (24-hour, or 12-hour with am/pm)."""
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    half = (match["half"] or "").lower().replace(".", "")
    shown = f"{match['hour']}:{match['minute']}" + (f" {half}" if half else "")
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{shown} is not a time: with am or pm the hour goes from 1 to 12, "
                             f"or use the 24-hour clock, e.g. {DATE_TIME_EXAMPLE}.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{shown} is not a time: use the 24-hour clock, from 00:00 to 23:59, "
                         f"e.g. {DATE_TIME_EXAMPLE}.")
    return time(hour, minute, second)


def _read_local(text: str) -> tuple[datetime, str | None]:
    """Return the naive UK wall-clock time that text names, and the zone written after it (GMT, BST or None)."""
    match = _DATE_AND_TIME.match(text or "")
    if not match:
        try:
            _read_day(text or "", DATE_TIME_EXAMPLE)
        except ValueError as exc:
            if str(exc):
                raise
        else:
            raise ValueError(f"Add the time, in UK time on the 24-hour clock, e.g. {DATE_TIME_EXAMPLE}.") from None
        raise ValueError(f"Enter the date and time as day/month/year then the time, e.g. {DATE_TIME_EXAMPLE} "
                         "or 30 Nov 2026 9:12 (UK time).")
    try:
        day = _read_day(match["day"], DATE_TIME_EXAMPLE)
    except ValueError as exc:
        if str(exc):
            raise
        raise ValueError(f"Enter the date as day/month/year before the time, e.g. {DATE_TIME_EXAMPLE} "
                         "or 30 Nov 2026 9:12 (UK time).") from None
    return datetime.combine(day, _read_clock(match)), match["zone"]


def parse_local(text: str) -> datetime:
    """Read a UK local date and time as people write it and return aware UTC.

    Reads 30/11/2026 09:12, 30/11/2026 9:12, 30-11-2026 09:12, 30 Nov 2026 9:12, 30 November 2026 09:12,
    2026-11-30T09:12 and 2026-11-30 09:12, each optionally followed by GMT or BST; always day first, with the
    year in full. Raises ValueError with a message that says what to fix, including the hour that does not
    exist when clocks go forward and the hour that occurs twice when they go back (the suffix GMT or BST
    settles it).
    """
    naive, zone_name = _read_local(text)
    zone = local_zone()
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    candidates = {first.utcoffset(), second.utcoffset()}
    if zone_name:
        wanted = timedelta(hours=1) if zone_name.upper() == "BST" else timedelta(0)
        for option in (first, second):
            if option.utcoffset() == wanted and option.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
                return option.astimezone(UTC)
        raise ValueError(f"{naive:%d %b %Y %H:%M} is not a {zone_name.upper()} time in the UK.")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(
            f"{naive:%H:%M} on {naive:%d %b %Y} does not exist in UK time (the clocks go forward); "
            "enter the time as shown on a clock that day."
        )
    if len(candidates) > 1:
        raise ValueError(
            f"{naive:%H:%M} on {naive:%d %b %Y} happens twice (the clocks go back); "
            "add BST for the first or GMT for the second."
        )
    return first.astimezone(UTC)


def format_minutes(minutes: int | None) -> str:
    """Format a whole number of minutes as '2 d 3 h 5 min'."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return sign + " ".join(parts)


def minutes_between(start: datetime, end: datetime) -> int:
    """Return whole minutes from start to end (exact across clock changes)."""
    return int((end - start).total_seconds() // 60)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """Return the UTC instants where a UK calendar month starts and ends."""
    zone = local_zone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def render_migration_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render UTCDateTime as a plain DateTime in generated migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False

"""UK local time for people, UTC for storage."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.types import TypeDecorator

_LOCAL_RE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(GMT|BST)?\s*$",
    re.IGNORECASE,
)


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


def format_date(value: date | datetime | None) -> str:
    """Format a date, or an instant's UK date, as 'Thu 6 Apr 2023'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return f"{value:%a} {value.day} {value:%b %Y}"


def format_time(value: datetime | None) -> str:
    """Format an instant's UK clock time with its zone, e.g. '10:40 BST'."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{local:%H:%M} {local.tzname()}"


def format_input(value: datetime | None) -> str:
    """Format for an input field: 'YYYY-MM-DD HH:MM ZZZ' in UK local time."""
    if value is None:
        return ""
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def parse_local(text: str) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM [GMT|BST]' as UK local time and return aware UTC.

    Raises ValueError with a message that says what to fix, including the
    hour that does not exist when clocks go forward and the hour that occurs
    twice when they go back (the suffix GMT or BST settles it).
    """
    match = _LOCAL_RE.match(text or "")
    if not match:
        raise ValueError("Enter a date and time as YYYY-MM-DD HH:MM (UK time), e.g. 2023-04-04 10:40.")
    y, mo, d, h, mi, s, zone_name = match.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        raise ValueError("That date or time does not exist; check the day, month and hour.") from None
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

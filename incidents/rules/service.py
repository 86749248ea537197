"""The domain's configurable rules: working days, Target Resolution Times, due dates."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app

from incidents.config import RULES
from incidents.timeutil import local_date, local_zone

MEMO_LIMIT = 50_000  # answers a calendar remembers (about 2 MB at most)
REGION_NAMES = {"ENG": "England and Wales", "WLS": "England and Wales", "SCT": "Scotland",
                "NIR": "Northern Ireland"}


class WorkingCalendar:
    """UK Working Days: not a weekend, not a bank holiday of the region, not an extra closure."""

    def __init__(self, region: str = "ENG", extra: tuple[date, ...] = ()) -> None:
        import holidays  # imported here: loading its country tables would slow every command's start

        self.region = region
        self._holidays = holidays.country_holidays("GB", subdiv=region)
        self._extra = set(extra)
        # The answers never change for a calendar, and pages ask the same few again and again (every
        # incident resolved on a day has the same due dates), so they are remembered, within bounds.
        self._working: dict[date, bool] = {}
        self._added: dict[tuple[date, int], date] = {}
        self._off_by_year: dict[int, set[date]] = {}

    def holiday_name(self, day: date) -> str | None:
        """Return the bank holiday's name for ``day``, or None."""
        if day in self._extra:
            return "Extra non-working day"
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is a Working Day."""
        known = self._working.get(day)
        if known is None:
            known = day.weekday() < 5 and day not in self._holidays and day not in self._extra
            if len(self._working) > MEMO_LIMIT:
                self._working.clear()
            self._working[day] = known
        return known

    def add_working_days(self, start: date, count: int) -> date:
        """Return the date ``count`` Working Days after ``start`` (before, if negative)."""
        known = self._added.get((start, count))
        if known is None:
            known = self._add_working_days(start, count)
            if len(self._added) > MEMO_LIMIT:
                self._added.clear()
            self._added[(start, count)] = known
        return known

    def _add_working_days(self, start: date, count: int) -> date:
        step = 1 if count >= 0 else -1
        remaining = abs(count)
        day = start
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Count Working Days after ``start`` up to and including ``end``."""
        if end <= start:
            return -self.working_days_between(end, start) if end < start else 0
        # Weekdays counted by whole weeks (an incident years old is otherwise walked day by day, for each of its
        # deadlines), less the bank holidays and extra days that fall on a weekday in between.
        weeks, rest = divmod((end - start).days, 7)
        count = weeks * 5 + sum(1 for offset in range(1, rest + 1)
                                if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5)
        return count - sum(1 for day in self._weekdays_off(start.year, end.year) if start < day <= end)

    def _weekdays_off(self, first_year: int, last_year: int) -> set[date]:
        """Return the bank holidays and extra days that fall on a weekday, in these years."""
        days: set[date] = set()
        for year in range(first_year, last_year + 1):
            known = self._off_by_year.get(year)
            if known is None:
                self._holidays.get(date(year, 1, 1))  # the calendar fills in a year when asked about it
                known = {day for day in [*self._holidays.keys(), *self._extra]
                         if day.year == year and day.weekday() < 5}
                self._off_by_year[year] = known
            days |= known
        return days


@lru_cache(maxsize=16)
def _calendar(region: str, extra: tuple[date, ...]) -> WorkingCalendar:
    return WorkingCalendar(region, extra)


def calendar() -> WorkingCalendar:
    """Return the Working Day calendar configured for this app."""
    extra = tuple(sorted(date.fromisoformat(d) for d in current_app.config["EXTRA_HOLIDAYS"]))
    return _calendar(current_app.config["HOLIDAY_REGION"], extra)


def target_resolution(category: int) -> dict[str, int] | None:
    """Return the configured TRT for a Category, as {'hours': n} or {'working_days': n}."""
    targets: dict[str, dict[str, int]] = current_app.config["TARGET_RESOLUTION"]
    return targets.get(str(category))


def describe_target(category: int) -> str:
    """Describe a Category's TRT for people, e.g. '4 h' or '3 Working Days'."""
    rule = target_resolution(category)
    if not rule:
        return "not set"
    if "hours" in rule:
        return f"{rule['hours']} h"
    days = rule["working_days"]
    return f"{days} Working Day{'s' if days != 1 else ''}"


def target_deadline(category: int, clock_start: datetime) -> datetime | None:
    """Return the instant by which an incident of ``category`` must be resolved.

    Hour targets are elapsed time (exact across clock changes); Working Day
    targets land on the same UK wall-clock time that many Working Days later.
    """
    rule = target_resolution(category)
    if not rule:
        return None
    if "hours" in rule:
        return clock_start + timedelta(hours=rule["hours"])
    local = clock_start.astimezone(local_zone())
    day = calendar().add_working_days(local.date(), int(rule["working_days"]))
    wall = datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=local_zone())
    return wall.astimezone(clock_start.tzinfo)


def report_due_dates(resolved_at: datetime) -> tuple[date, date]:
    """Return the Summary and Review Report due dates for a resolution time."""
    cal = calendar()
    resolved_on = local_date(resolved_at)
    return (
        cal.add_working_days(resolved_on, current_app.config["SUMMARY_REPORT_WORKING_DAYS"]),
        cal.add_working_days(resolved_on, current_app.config["REVIEW_REPORT_WORKING_DAYS"]),
    )


def settings_table(sources: dict[str, str], *, include_internal: bool) -> list[dict[str, Any]]:
    """List each rule with its value, where the value was set, and where the default comes from.

    The teams' internal rules (``Rule.is_internal``: reminders and the team addresses) only when asked.
    """
    rows = []
    for rule in RULES:
        if rule.is_internal and not include_internal:
            continue
        value: Any = current_app.config.get(rule.key)
        if rule.key == "TARGET_RESOLUTION":
            value = ", ".join(f"Cat {c}: {describe_target(int(c))}" for c in sorted(value))
        elif rule.key == "HOLIDAY_REGION":
            value = f"{value} ({REGION_NAMES.get(value, 'unknown region')})"
        elif rule.key == "CAUSE_CATEGORIES":
            value = ", ".join(value.values())
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "none"
        rows.append({"key": rule.key, "label": rule.label, "value": value,
                     "source": sources.get(rule.key, "default"), "origin": rule.origin,
                     "provenance": rule.provenance})
    return rows


def upcoming_holidays(start: date, count: int = 8) -> list[tuple[date, str]]:
    """List the next non-working holidays from ``start`` for the settings page."""
    cal = calendar()
    found: list[tuple[date, str]] = []
    day = start
    while len(found) < count and day < start + timedelta(days=800):
        name = cal.holiday_name(day)
        if name:
            found.append((day, name))
        day += timedelta(days=1)
    return found

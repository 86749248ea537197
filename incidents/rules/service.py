"""The domain's configurable rules: working days, Target Resolution Times, due dates."""
from __future__ import annotations

from dataclasses import dataclass
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


# --- The rules in plain words, for everyone (the configuration detail is for administrators) ---------------

@dataclass(frozen=True)
class Measure:
    """One PMR measure in words."""

    code: str
    label: str
    categories: str
    target: str
    minimum: str


@dataclass(frozen=True)
class PlainRules:
    """What the configuration means for people, in words: built from the settings in force, so it stays true."""

    categories: str
    major_categories: str
    targets: list[tuple[str, str]]
    clock_start: str
    summary_days: str
    review_days: str
    region: str
    extra_days: list[date]
    cohorts: str
    cause_categories: list[str]
    measures: list[Measure]
    reminders: list[tuple[str, str]] | None
    send_time: str


def words_list(items: list[Any]) -> str:
    """Join items as a sentence does: "1, 2 and 3"."""
    texts = [str(item) for item in items]
    if len(texts) <= 1:
        return "".join(texts)
    return ", ".join(texts[:-1]) + " and " + texts[-1]


def working_days(count: int) -> str:
    """Say a number of Working Days: "1 working day", "20 working days"."""
    return f"{count} working day{'' if count == 1 else 's'}"


def _target_words(rule: dict[str, int] | None) -> str:
    if not rule:
        return "no target set"
    if "hours" in rule:
        return f"{rule['hours']} hour{'' if rule['hours'] == 1 else 's'}"
    return working_days(int(rule["working_days"]))


def _percent(value: Any) -> str:
    number = float(value)
    return f"{number:g} %"


def _before(days: list[Any], what: str) -> str:
    """Say when reminders go before a date: "5 and 1 working days before the due date, and on the day"."""
    counts = sorted({int(d) for d in days if int(d) > 0}, reverse=True)
    parts = []
    if counts:
        unit = "working day" if counts == [1] else "working days"
        parts.append(f"{words_list(counts)} {unit} before {what}")
    if any(int(d) == 0 for d in days):
        parts.append("on the day")
    return ", and ".join(parts) if parts else ""


def _reminder_sentences(rules: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Describe each configured reminder: whom it is for, and when it goes."""
    sentences: list[tuple[str, str]] = []
    summary = rules.get("summary_report")
    if summary:
        sentences.append(("Major Incident Summary Report (DCC)",
                          _before(summary.get("before_working_days", []), "it is due") + "."))
    review = rules.get("review_report")
    if review:
        text = _before(review.get("before_working_days", []), "it is due")
        every = int(review.get("overdue_every_working_days") or 0)
        if every:
            text += f"; then every {working_days(every)} while it is overdue"
        sentences.append(("Major Incident Review Report (DCC)", text + "."))
    secas = rules.get("secas_review")
    if secas:
        text = f"When a proposed exclusion has waited {working_days(int(secas['pending_working_days']))}"
        every = int(secas.get("every_working_days") or 0)
        if every:
            text += f", then every {working_days(every)} until SECAS answers"
        sentences.append(("SECAS review of a proposed exclusion (SECAS)", text + "."))
    decision = rules.get("opsg_decision")
    if decision:
        days = int(decision["before_meeting_working_days"])
        sentences.append(("Operations Group decision on a submitted Review Report (Operations Group)",
                          f"{working_days(days).capitalize()} before the group's next meeting."))
    action = rules.get("action")
    if action:
        text = _before(action.get("before_working_days", []), "the target date")
        every = int(action.get("overdue_every_days") or 0)
        if every:
            text += f"; then every {every} day{'' if every == 1 else 's'} while it is overdue"
        sentences.append(("Actions (the organisation that owns the action)", text[:1].upper() + text[1:] + "."))
    return [(who, text[:1].upper() + text[1:]) for who, text in sentences]


def plain_rules(*, include_internal: bool) -> PlainRules:
    """Return the rules in force as a person reads them (the teams' reminder schedule only when asked)."""
    config = current_app.config
    targets = config["TARGET_RESOLUTION"]
    categories = [int(c) for c in config["INCIDENT_CATEGORIES"]]
    measures = [Measure(code=code, label=str(m.get("label", code)),
                        categories=words_list(sorted(int(c) for c in m.get("categories", []))),
                        target=_percent(m.get("target", 0)), minimum=_percent(m.get("minimum", 0)))
                for code, m in config["PMR_MEASURES"].items()]
    return PlainRules(
        categories=f"{min(categories)} (most severe) to {max(categories)} (least severe)" if categories else "",
        major_categories=words_list(sorted(int(c) for c in config["REVIEW_CATEGORIES"])),
        targets=[(f"Category {c}", _target_words(targets.get(str(c)))) for c in categories],
        clock_start=("when the incident was detected" if config["RESOLUTION_CLOCK_START"] == "detected"
                     else "when the incident started"),
        summary_days=working_days(int(config["SUMMARY_REPORT_WORKING_DAYS"])),
        review_days=working_days(int(config["REVIEW_REPORT_WORKING_DAYS"])),
        region=REGION_NAMES.get(config["HOLIDAY_REGION"], config["HOLIDAY_REGION"]),
        extra_days=sorted(date.fromisoformat(d) for d in config["EXTRA_HOLIDAYS"]),
        cohorts=words_list(list(config["COHORTS"])),
        cause_categories=[str(v) for v in config["CAUSE_CATEGORIES"].values()],
        measures=measures,
        reminders=_reminder_sentences(config["REMINDER_RULES"]) if include_internal else None,
        send_time=str(config["REMINDER_SEND_TIME"]),
    )

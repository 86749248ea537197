"""Pure-Python SVG builders: the restoration timeline and the PMR trend.

The pictures are drawn on the server, so they work without JavaScript, print,
and go into PDFs unchanged. They sit inline in pages whose Content Security
Policy forbids inline styles, so only presentation attributes (``fill=``,
``stroke=`` ...) are used, never ``style=``. Every piece of text is escaped
here, which is why the result can be marked safe for templates.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from markupsafe import Markup

from incidents.timeutil import format_minutes

FONT = "Arial, Helvetica, sans-serif"
INK = "#1d2733"
MUTED = "#55606e"
GRID = "#d5dbe3"
BAND = "#eef1f5"
BAR = "#005ea5"
LONGEST = "#b35c00"
DCC_SERIES = "#6f3c8f"
OPEN = "#8a5300"
DEADLINE = "#b10e1e"
TARGET = "#00703c"
MINIMUM = "#b10e1e"
WHITE = "#ffffff"

# Tick steps in minutes, from five minutes to a week.
TICK_STEPS = (5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080)
MAX_TICKS = 8
TOOLTIP_LIMIT = 300
# XML 1.0 cannot carry these characters at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# --- Data the charts draw ------------------------------------------------------------

@dataclass(frozen=True)
class CohortSpan:
    """One cohort's impact, from its start to its restoration (None: not restored)."""

    name: str
    impact_started_at: datetime
    restored_at: datetime | None


@dataclass(frozen=True)
class Event:
    """A timeline entry drawn as a marker, on its cohort's row or the incident's."""

    occurred_at: datetime
    kind: str
    cohort: str | None
    text: str


@dataclass(frozen=True)
class Restoration:
    """Everything the restoration timeline shows for one incident."""

    reference: str
    zone: tzinfo
    started_at: datetime
    resolved_at: datetime | None
    deadline_at: datetime | None
    # Where a cohort that is not restored is drawn to: the resolution, or now.
    open_until: datetime
    open_label: str
    cohorts: list[CohortSpan]
    events: list[Event]
    longest_cohort: str | None = None
    callout: str | None = None


@dataclass(frozen=True)
class TrendPoint:
    """One month of a measure: the percentage with the agreed exclusions, without exclusions and, when given, with
    the DCC's exclusions (None: no incidents counted)."""

    month: str
    label: str
    with_exclusions: float | None
    without_exclusions: float | None
    with_dcc_exclusions: float | None = None


# --- Small helpers ----------------------------------------------------------------------

def clean(text: str | None) -> str:
    """Return text that XML can carry, escaped for element content and attribute values."""
    value = _NOT_XML.sub("", text or "")
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def _short(text: str, limit: int = TOOLTIP_LIMIT) -> str:
    text = " ".join(_NOT_XML.sub("", text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_id(text: str) -> str:
    """Return an XML id made from ``text`` (letters, digits, '-' and '_' only)."""
    return "chart-" + _ID_UNSAFE.sub("-", text)[:60]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def percent(value: float | None) -> str:
    """Format a percentage for people: '66.67 %', or 'n/a' for no incidents."""
    if value is None:
        return "n/a"
    return f"{value:.2f}".rstrip("0").rstrip(".") + " %"


def clock(value: datetime, zone: tzinfo, *, with_zone: bool = True) -> str:
    """Return the UK wall-clock time, e.g. '10:40 BST'."""
    local = value.astimezone(zone)
    return local.strftime("%H:%M") + (f" {local.tzname()}" if with_zone else "")


def day(value: datetime, zone: tzinfo) -> str:
    """Return the UK calendar day, e.g. 'Tue 4 Apr'."""
    local = value.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"


def moment(value: datetime, zone: tzinfo) -> str:
    """Return day and time, e.g. 'Tue 4 Apr 2023 10:40 BST'."""
    local = value.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y} {clock(value, zone)}"


def _text(x: float, y: float, content: str, *, size: int = 12, anchor: str = "start", weight: str | None = None,
          fill: str = INK, css: str | None = None) -> str:
    attrs = f'x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{fill}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    if css:
        attrs += f' class="{css}"'
    return f"<text {attrs}>{clean(content)}</text>"


def _open_svg(width: int, height: int, ident: str, title: str, desc: str, css: str) -> list[str]:
    return [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
         f'font-family="{FONT}">'),
        f'<title id="{ident}-title">{clean(title)}</title>',
        f'<desc id="{ident}-desc">{clean(desc)}</desc>',
    ]


# --- Time axis ----------------------------------------------------------------------------

class _Scale:
    """Map instants between ``start`` and ``end`` onto x positions between ``x0`` and ``x1``."""

    def __init__(self, start: datetime, end: datetime, x0: float, x1: float) -> None:
        self.start, self.end, self.x0, self.x1 = start, end, x0, x1
        self.seconds = max((end - start).total_seconds(), 1.0)

    def x(self, value: datetime) -> float:
        """Return the x position of an instant (clamped to the plot)."""
        share = (value - self.start).total_seconds() / self.seconds
        return self.x0 + max(0.0, min(1.0, share)) * (self.x1 - self.x0)

    def contains(self, value: datetime) -> bool:
        """Tell whether an instant falls on the axis."""
        return self.start <= value <= self.end


def time_ticks(start: datetime, end: datetime, zone: tzinfo, *, max_ticks: int = MAX_TICKS) -> list[datetime]:
    """Return round UK local times between ``start`` and ``end`` (at most about ``max_ticks``)."""
    span = max((end - start).total_seconds() / 60, 1.0)
    step = next((s for s in TICK_STEPS if span / s <= max_ticks), None)
    if step is None:
        step = 10080 * math.ceil(span / (10080 * max_ticks))
    ticks: list[datetime] = []
    local = start.astimezone(zone)
    if step < 1440:
        minutes = local.hour * 60 + local.minute
        floor = minutes - minutes % step
        tick = local.replace(hour=floor // 60, minute=floor % 60, second=0, microsecond=0).astimezone(UTC)
        while tick < start:
            tick += timedelta(minutes=step)
        while tick <= end and len(ticks) <= 4 * max_ticks:
            ticks.append(tick)
            tick += timedelta(minutes=step)
        return ticks
    # Whole days: step on the calendar so ticks stay on UK midnight across clock changes.
    days = step // 1440
    current = local.date()
    while len(ticks) <= 4 * max_ticks:
        tick = datetime.combine(current, time(0), tzinfo=zone).astimezone(UTC)
        if tick > end:
            break
        if tick >= start:
            ticks.append(tick)
        current += timedelta(days=days)
    return ticks


def _zone_names(instants: Iterable[datetime], zone: tzinfo) -> list[str]:
    names: list[str] = []
    for value in instants:
        name = value.astimezone(zone).tzname() or ""
        if name not in names:
            names.append(name)
    return names


# --- The restoration timeline ----------------------------------------------------------------

def restoration_chart(data: Restoration, *, id_prefix: str | None = None) -> Markup:
    """Draw a horizontal timeline: one bar per cohort from impact to restoration, events, the TRT deadline."""
    width, label_w, right_w, top, row_h, bar_h = 820, 118, 160, 40, 30, 16
    x0, x1 = label_w, width - right_w
    zone = data.zone
    ident = safe_id(id_prefix or f"restoration-{data.reference}")

    ends: list[datetime] = [data.started_at]
    starts: list[datetime] = [data.started_at]
    for cohort in data.cohorts:
        starts.append(cohort.impact_started_at)
        ends.append(cohort.restored_at or data.open_until)
    ends.append(data.resolved_at or data.open_until)
    start, end = min(starts), max(ends)
    if end <= start:
        end = start + timedelta(hours=1)
    span = end - start
    deadline_on_chart = data.deadline_at is not None and data.deadline_at <= end + span / 2
    if deadline_on_chart and data.deadline_at is not None:
        end = max(end, data.deadline_at)
    # Events far outside the incident would squash the bars; the report's timeline table lists them.
    window = (start - span / 4, end + span / 4)
    events = [e for e in data.events if window[0] <= e.occurred_at <= window[1]]
    for event in events:
        start, end = min(start, event.occurred_at), max(end, event.occurred_at)
    pad = max((end - start) * 0.03, timedelta(minutes=5))
    scale = _Scale(start - pad, end + pad, x0, x1)

    rows = ["Incident"] + [c.name for c in data.cohorts]
    axis_y = top + len(rows) * row_h + 6
    legend_y = axis_y + 66
    callout_y = legend_y + 28
    height = callout_y + (14 if data.callout else 0) + 8

    ticks = time_ticks(scale.start, scale.end, zone)
    zones = _zone_names([scale.start, scale.end, *ticks], zone)
    mixed = len(zones) > 1

    title = f"Restoration by cohort, {data.reference}"
    desc = describe_restoration(data)
    out = _open_svg(width, height, ident, title, desc, "chart restoration-chart")
    out.append(
        f'<defs><pattern id="{ident}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff1d6"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{OPEN}" stroke-width="2"/></pattern></defs>')

    # Grid and axis first, so bars and markers draw over them.
    out.append('<g class="axis">')
    previous_day = None
    for tick in ticks:
        x = scale.x(tick)
        out.append(f'<line x1="{_num(x)}" y1="{top - 4}" x2="{_num(x)}" y2="{axis_y}" stroke="{GRID}"/>')
        out.append(_text(x, axis_y + 16, clock(tick, zone, with_zone=mixed), size=11, anchor="middle"))
        today = day(tick, zone)
        if today != previous_day:
            out.append(_text(x, axis_y + 30, today, size=11, anchor="middle", fill=MUTED))
            previous_day = today
    out.append(f'<line x1="{x0}" y1="{axis_y}" x2="{x1}" y2="{axis_y}" stroke="{INK}"/>')
    caption = "UK local time (" + ", then ".join(zones) + (": the clocks changed)" if mixed else ")")
    out.append(_text((x0 + x1) / 2, axis_y + 48, caption, size=11, anchor="middle", fill=MUTED))
    out.append("</g>")

    out.append(_text(x1 + 12, top - 12, "Restored after", size=11, weight="bold", fill=MUTED))

    # The incident row: its whole span, and the events that belong to no single cohort.
    mid = top + row_h / 2
    out.append('<g class="incident-row">')
    out.append(_text(label_w - 8, mid + 4, "Incident", anchor="end", weight="bold"))
    incident_end = data.resolved_at or data.open_until
    dash = "" if data.resolved_at else ' stroke-dasharray="6 4"'
    out.append(f'<line x1="{_num(scale.x(data.started_at))}" y1="{_num(mid)}" x2="{_num(scale.x(incident_end))}" '
               f'y2="{_num(mid)}" stroke="{INK}" stroke-width="3"{dash}/>')
    if data.resolved_at and data.cohorts:
        out.append(_text(x1 + 12, mid + 4, format_minutes(_minutes(data.started_at, data.resolved_at))
                         + " overall", size=11, fill=MUTED))
    elif data.resolved_at is None:
        out.append(_text(x1 + 12, mid + 4, "Open", size=11, weight="bold", fill=OPEN))
    out.append("</g>")

    names = {c.name for c in data.cohorts}
    for index, cohort in enumerate(data.cohorts, start=1):
        out.extend(_cohort_row(cohort, data, scale, top + index * row_h, row_h, bar_h, x1, ident))

    # Events last, over the bars.
    for event in events:
        row = (1 + [c.name for c in data.cohorts].index(event.cohort)) if event.cohort in names else 0
        cy = top + row * row_h + row_h / 2
        tooltip = f"{clock(event.occurred_at, zone)} · {event.kind.replace('_', ' ')}"
        if event.cohort:
            tooltip += f" · {event.cohort}"
        tooltip += f": {_short(event.text)}"
        out.append(f'<g class="event"><circle cx="{_num(scale.x(event.occurred_at))}" cy="{_num(cy)}" r="5" '
                   f'fill="{WHITE}" stroke="{INK}" stroke-width="2"/><title>{clean(tooltip)}</title></g>')

    # The TRT deadline over everything, so it is never hidden.
    if data.deadline_at is not None:
        if deadline_on_chart and scale.contains(data.deadline_at):
            x = scale.x(data.deadline_at)
            out.append(f'<g class="deadline"><line x1="{_num(x)}" y1="{top - 8}" x2="{_num(x)}" y2="{axis_y}" '
                       f'stroke="{DEADLINE}" stroke-width="2" stroke-dasharray="6 4"/>')
            label = f"TRT deadline {clock(data.deadline_at, zone)}"
            anchor_x = min(max(x, x0 + 80), x1 - 80)
            out.append(_text(anchor_x, top - 12, label, size=11, anchor="middle", weight="bold", fill=DEADLINE))
            out.append("</g>")
        else:
            label = f"TRT deadline {moment(data.deadline_at, zone)}, beyond the chart →"
            out.append('<g class="deadline">' + _text(x1, top - 26, label, size=11, anchor="end", weight="bold",
                                                      fill=DEADLINE) + "</g>")

    out.extend(_restoration_legend(data, x0, legend_y, ident))
    if data.callout:
        out.append(_text(x0, callout_y, data.callout, size=13, weight="bold", css="callout"))
    out.append("</svg>")
    return Markup("".join(out))


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def _cohort_row(cohort: CohortSpan, data: Restoration, scale: _Scale, row_top: float, row_h: int, bar_h: int,
                x1: float, ident: str) -> list[str]:
    zone = data.zone
    mid = row_top + row_h / 2
    is_longest = cohort.name == data.longest_cohort
    out = [f'<g class="cohort" data-cohort="{clean(cohort.name)}">',
           _text(scale.x0 - 8, mid + 4, cohort.name, anchor="end", weight="bold" if is_longest else None)]
    left = scale.x(cohort.impact_started_at)
    y = mid - bar_h / 2
    if cohort.restored_at is not None:
        right = scale.x(cohort.restored_at)
        minutes = _minutes(cohort.impact_started_at, cohort.restored_at)
        tooltip = (f"{cohort.name}: impact from {clock(cohort.impact_started_at, zone)} to "
                   f"{clock(cohort.restored_at, zone)}, restored after {format_minutes(minutes)}")
        out.append(f'<rect class="bar" x="{_num(left)}" y="{_num(y)}" width="{_num(max(right - left, 2))}" '
                   f'height="{bar_h}" rx="2" fill="{LONGEST if is_longest else BAR}"><title>{clean(tooltip)}</title>'
                   f'</rect>')
        label = format_minutes(minutes) + (" · longest" if is_longest else "")
        out.append(_text(x1 + 12, mid + 4, label, size=12, weight="bold" if is_longest else None))
    else:
        right = scale.x(data.open_until)
        tooltip = (f"{cohort.name}: impact from {clock(cohort.impact_started_at, zone)}, not restored "
                   f"by {data.open_label} ({clock(data.open_until, zone)})")
        out.append(f'<rect class="bar open" x="{_num(left)}" y="{_num(y)}" width="{_num(max(right - left, 2))}" '
                   f'height="{bar_h}" fill="url(#{ident}-hatch)" stroke="{OPEN}" stroke-width="1.5" '
                   f'stroke-dasharray="5 3"><title>{clean(tooltip)}</title></rect>')
        out.append(f'<polygon class="open-marker" points="{_num(right)},{_num(y - 3)} {_num(right + 9)},{_num(mid)} '
                   f'{_num(right)},{_num(y + bar_h + 3)}" fill="{OPEN}"/>')
        out.append(_text(x1 + 12, mid, "Not restored", size=12, weight="bold", fill=OPEN))
        out.append(_text(x1 + 12, mid + 12, f"by {data.open_label} {clock(data.open_until, zone)}", size=10,
                         fill=OPEN))
    out.append("</g>")
    return out


def _restoration_legend(data: Restoration, x0: float, y: float, ident: str) -> list[str]:
    items: list[tuple[str, str]] = [
        (f'<rect x="0" y="-9" width="18" height="10" fill="{BAR}"/>', "Impact to restoration")]
    if data.longest_cohort:
        items.append((f'<rect x="0" y="-9" width="18" height="10" fill="{LONGEST}"/>', "Longest restoration"))
    if any(c.restored_at is None for c in data.cohorts):
        items.append(((f'<rect x="0" y="-9" width="18" height="10" fill="url(#{ident}-hatch)" stroke="{OPEN}" '
                       'stroke-dasharray="4 2"/>'), "Not restored"))
    if data.deadline_at is not None:
        items.append(((f'<line x1="9" y1="-12" x2="9" y2="3" stroke="{DEADLINE}" stroke-width="2" '
                       'stroke-dasharray="4 3"/>'), "TRT deadline"))
    items.append((f'<circle cx="9" cy="-4" r="5" fill="{WHITE}" stroke="{INK}" stroke-width="2"/>',
                  "Timeline entry"))
    out = [f'<g class="legend" transform="translate({_num(x0)},{_num(y)})">']
    x = 0.0
    for swatch, label in items:
        out.append(f'<g transform="translate({_num(x)},0)">{swatch}{_text(24, 0, label, size=11)}</g>')
        x += 24 + len(label) * 6.2 + 18
    out.append("</g>")
    return out


def describe_restoration(data: Restoration) -> str:
    """Say in words what the restoration timeline shows (the chart's description for screen readers)."""
    zone = data.zone
    parts = [(f"Restoration timeline for incident {data.reference}, UK local time. "
              f"The incident started {moment(data.started_at, zone)}")]
    if data.resolved_at:
        parts[-1] += f" and was resolved {moment(data.resolved_at, zone)}."
    else:
        parts[-1] += " and is not resolved."
    if not data.cohorts:
        parts.append("No cohorts are recorded.")
    for cohort in data.cohorts:
        if cohort.restored_at:
            minutes = _minutes(cohort.impact_started_at, cohort.restored_at)
            parts.append(f"{cohort.name}: impact from {clock(cohort.impact_started_at, zone)} to "
                         f"{clock(cohort.restored_at, zone)}, {format_minutes(minutes)}.")
        else:
            parts.append(f"{cohort.name}: impact from {clock(cohort.impact_started_at, zone)}, "
                         f"not restored by {data.open_label}.")
    if data.deadline_at:
        parts.append(f"Target Resolution Time deadline: {moment(data.deadline_at, zone)}.")
    if data.callout:
        parts.append(data.callout.rstrip(".") + ".")
    return " ".join(parts)


# --- The PMR trend ------------------------------------------------------------------------------

def trend_chart(*, code: str, label: str, points: list[TrendPoint], target: float, minimum: float,
                selected: str | None = None, id_prefix: str | None = None) -> Markup:
    """Draw a measure month by month, with and without exclusions, against its target and minimum."""
    width, height, x0, x1, top, y1 = 820, 296, 56, 820 - 150, 22, 214
    ident = safe_id(id_prefix or f"trend-{code}")
    count = max(len(points), 1)
    slot = (x1 - x0) / count

    def px(index: int) -> float:
        return x0 + (index + 0.5) * slot

    def py(value: float) -> float:
        return y1 - max(0.0, min(100.0, value)) / 100 * (y1 - top)

    first, last = (points[0].label, points[-1].label) if points else ("", "")
    title = f"{code} month by month, {first} to {last}"
    out = _open_svg(width, height, ident, title, describe_trend(code, label, points, target, minimum),
                    "chart trend-chart")

    for index, point in enumerate(points):
        if point.month == selected:
            out.append(f'<rect class="selected-month" x="{_num(px(index) - slot / 2)}" y="{top}" '
                       f'width="{_num(slot)}" height="{y1 - top}" fill="{BAND}"/>')
    out.append('<g class="axis">')
    for value in range(0, 101, 20):
        y = py(value)
        out.append(f'<line x1="{x0}" y1="{_num(y)}" x2="{x1}" y2="{_num(y)}" stroke="{GRID}"/>')
        out.append(_text(x0 - 8, y + 4, f"{value} %", size=11, anchor="end", fill=MUTED))
    out.append(f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="{INK}"/>')
    previous_year = None
    for index, point in enumerate(points):
        month_name, _, year = point.label.partition(" ")
        weight = "bold" if point.month == selected else None
        out.append(_text(px(index), y1 + 16, month_name, size=11, anchor="middle", weight=weight))
        if year != previous_year:
            out.append(_text(px(index), y1 + 30, year, size=11, anchor="middle", fill=MUTED))
            previous_year = year
    out.append("</g>")

    target_y, minimum_y = py(target), py(minimum)
    out.append(f'<g class="target"><line x1="{x0}" y1="{_num(target_y)}" x2="{x1}" y2="{_num(target_y)}" '
               f'stroke="{TARGET}" stroke-width="2" stroke-dasharray="8 4"/>'
               + _text(x1 + 8, target_y + 4, f"Target {percent(target)}", size=11, weight="bold", fill=TARGET)
               + "</g>")
    label_y = minimum_y + 4 if abs(minimum_y - target_y) >= 14 else target_y + 18
    out.append(f'<g class="minimum"><line x1="{x0}" y1="{_num(minimum_y)}" x2="{x1}" y2="{_num(minimum_y)}" '
               f'stroke="{MINIMUM}" stroke-width="2" stroke-dasharray="2 3"/>'
               + _text(x1 + 8, label_y, f"Minimum {percent(minimum)}", size=11, weight="bold", fill=MINIMUM)
               + "</g>")

    out.extend(_series(points, "without_exclusions", px, py, MUTED, dashed=True))
    has_dcc = any(point.with_dcc_exclusions is not None for point in points)
    if has_dcc:
        out.extend(_dcc_series(points, px, py))
    out.extend(_series(points, "with_exclusions", px, py, BAR, dashed=False))
    for index, point in enumerate(points):
        if point.with_exclusions is None:
            out.append(_text(px(index), y1 - 6, "n/a", size=10, anchor="middle", fill=MUTED, css="no-incidents"))
        else:
            y = py(point.with_exclusions)
            out.append(_text(px(index), y - 9 if y > top + 14 else y + 18,
                             percent(point.with_exclusions).replace(" %", ""), size=10, anchor="middle",
                             weight="bold", fill=BAR))

    legend = [
        ((f'<line x1="0" y1="-4" x2="22" y2="-4" stroke="{BAR}" stroke-width="2.5"/>'
          f'<circle cx="11" cy="-4" r="4" fill="{BAR}"/>'), "With agreed exclusions" if has_dcc else
         "With exclusions applied"),
        *([((f'<line x1="0" y1="-4" x2="22" y2="-4" stroke="{DCC_SERIES}" stroke-width="2" '
             f'stroke-dasharray="1 3"/><path d="{_diamond(11, -4)}" fill="{DCC_SERIES}"/>'),
            "With the DCC's exclusions")] if has_dcc else []),
        ((f'<line x1="0" y1="-4" x2="22" y2="-4" stroke="{MUTED}" stroke-width="2" stroke-dasharray="5 3"/>'
          f'<rect x="7" y="-8" width="8" height="8" fill="{MUTED}"/>'), "Without exclusions"),
        (f'<line x1="0" y1="-4" x2="22" y2="-4" stroke="{TARGET}" stroke-width="2" stroke-dasharray="8 4"/>',
         "Target Service Level"),
        (f'<line x1="0" y1="-4" x2="22" y2="-4" stroke="{MINIMUM}" stroke-width="2" stroke-dasharray="2 3"/>',
         "Minimum Service Level"),
    ]
    out.append(f'<g class="legend" transform="translate({x0},{height - 16})">')
    x = 0.0
    for swatch, text in legend:
        out.append(f'<g transform="translate({_num(x)},0)">{swatch}{_text(28, 0, text, size=11)}</g>')
        x += 28 + len(text) * 6.2 + 20
    out.append("</g></svg>")
    return Markup("".join(out))


def _series(points: list[TrendPoint], attribute: str, px: Callable[[int], float], py: Callable[[float], float],
            colour: str, *, dashed: bool) -> list[str]:
    """Draw one series as lines between neighbouring months that have a value, and a marker per value."""
    css = attribute.replace("_", "-")
    out = [f'<g class="series {css}">']
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, point in enumerate(points):
        value = getattr(point, attribute)
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_num(px(index))},{_num(py(value))}")
    if segment:
        segments.append(segment)
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                       f'stroke-width="{2 if dashed else 2.5}"{dash}/>')
    for index, point in enumerate(points):
        value = getattr(point, attribute)
        if value is None:
            continue
        x, y = px(index), py(value)
        other = point.without_exclusions if attribute == "with_exclusions" else point.with_exclusions
        tip = f"{point.label}: {percent(value)} {attribute.replace('_', ' ')}"
        if other is not None:
            tip += f" ({percent(other)} {'without' if attribute == 'with_exclusions' else 'with'} exclusions)"
        if dashed:
            shape = (f'<rect class="point" x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8" '
                     f'fill="{colour}">')
            close = "</rect>"
        else:
            shape = f'<circle class="point" cx="{_num(x)}" cy="{_num(y)}" r="4.5" fill="{colour}">'
            close = "</circle>"
        out.append(f"{shape}<title>{clean(tip)}</title>{close}")
    out.append("</g>")
    return out


def _diamond(x: float, y: float, size: float = 5) -> str:
    return f"M{_num(x)},{_num(y - size)} L{_num(x + size)},{_num(y)} L{_num(x)},{_num(y + size)} L{_num(x - size)},{_num(y)} Z"


def _dcc_series(points: list[TrendPoint], px: Callable[[int], float], py: Callable[[float], float]) -> list[str]:
    """Draw the DCC's figure: a dotted line between neighbouring months that have one, a diamond per value."""
    out = ['<g class="series with-dcc-exclusions">']
    segment: list[str] = []
    for index, point in enumerate([*points, None]):
        value = point.with_dcc_exclusions if point is not None else None
        if value is None:
            if len(segment) > 1:
                out.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{DCC_SERIES}" '
                           'stroke-width="2" stroke-dasharray="1 3"/>')
            segment = []
            continue
        segment.append(f"{_num(px(index))},{_num(py(value))}")
    for index, point in enumerate(points):
        if point.with_dcc_exclusions is None:
            continue
        tip = f"{point.label}: {percent(point.with_dcc_exclusions)} with the DCC's exclusions"
        out.append(f'<path class="dcc-point" d="{_diamond(px(index), py(point.with_dcc_exclusions))}" '
                   f'fill="{DCC_SERIES}"><title>{clean(tip)}</title></path>')
    out.append("</g>")
    return out


def describe_trend(code: str, label: str, points: list[TrendPoint], target: float, minimum: float) -> str:
    """Say in words what the trend chart shows."""
    months = []
    for point in points:
        if point.with_exclusions is None and point.without_exclusions is None:
            months.append(f"{point.label}: no incidents")
        else:
            said = (f"{point.label}: {percent(point.with_exclusions)} with exclusions, "
                    f"{percent(point.without_exclusions)} without")
            if point.with_dcc_exclusions is not None:
                said += f", {percent(point.with_dcc_exclusions)} with the DCC's exclusions"
            months.append(said)
    return (f"{code}, {label}. Target Service Level {percent(target)}, Minimum Service Level {percent(minimum)}. "
            + "; ".join(months) + ".")

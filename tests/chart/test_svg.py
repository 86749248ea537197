"""The SVG builders on their own: valid XML, one bar per cohort, accessible, escaped, right in UK time."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from incidents.chart import svg

LONDON = ZoneInfo("Europe/London")
NS = "{http://www.w3.org/2000/svg}"


def uk(text: str) -> datetime:
    """Read 'YYYY-MM-DD HH:MM' as UK local time."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


def demo(**overrides) -> svg.Restoration:
    """The INC000001001905 restoration: CSP N restored at 10:40 BST, 1 h 25 min after S1SP."""
    data = {
        "reference": "INC000001001905", "zone": LONDON, "started_at": uk("2023-04-04 05:55"),
        "resolved_at": uk("2023-04-04 10:40"), "deadline_at": uk("2023-04-04 09:55"), "open_until": uk("2023-04-04 10:40"),
        "open_label": "resolution",
        "cohorts": [svg.CohortSpan("CSP C&S", uk("2023-04-04 05:55"), uk("2023-04-04 08:10")),
                 svg.CohortSpan("CSP N", uk("2023-04-04 05:55"), uk("2023-04-04 10:40")),
                 svg.CohortSpan("DSP", uk("2023-04-04 05:58"), uk("2023-04-04 07:40")),
                 svg.CohortSpan("S1SP", uk("2023-04-04 06:00"), uk("2023-04-04 09:15"))],
        "events": [svg.Event(uk("2023-04-04 06:02"), "detected", None, "Alarms from all Service Providers."),
                svg.Event(uk("2023-04-04 10:40"), "restored", "CSP N", "NTE reset completed.")],
        "longest_cohort": "CSP N", "callout": "CSP N restored 1 h 25 min after the last other cohort (4 h 45 min in all)."}
    data.update(overrides)
    return svg.Restoration(**data)


def parse(markup: str) -> ET.Element:
    """Parse the SVG as XML (fails on anything malformed)."""
    return ET.fromstring(str(markup))


def bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}rect") if "bar" in (e.get("class") or "").split()]


def test_restoration_chart_is_valid_accessible_svg_with_one_bar_per_cohort():
    root = parse(svg.restoration_chart(demo()))
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    assert "INC000001001905" in title.text
    assert "CSP N: impact from 05:55 BST to 10:40 BST, 4 h 45 min." in desc.text
    assert "Target Resolution Time deadline: Tue 4 Apr 2023 09:55 BST." in desc.text
    assert len(bars(root)) == 4
    cohorts = [g.get("data-cohort") for g in root.iter(f"{NS}g") if g.get("class") == "cohort"]
    assert cohorts == ["CSP C&S", "CSP N", "DSP", "S1SP"]


def test_longest_is_called_out_and_deadline_drawn_in_uk_time():
    markup = str(svg.restoration_chart(demo()))
    root = parse(markup)
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "CSP N restored 1 h 25 min after the last other cohort (4 h 45 min in all)." in texts
    assert "TRT deadline 09:55 BST" in texts
    assert "4 h 45 min · longest" in texts
    assert "UK local time (BST)" in texts
    assert {"06:00", "08:00", "10:00"} <= set(texts)
    # Presentation attributes only: the page's CSP forbids inline styles, and no script is ever drawn.
    assert "style=" not in markup and "<script" not in markup


def test_bars_are_proportional_to_time():
    root = parse(svg.restoration_chart(demo()))
    widths = {b.find(f"{NS}title").text.split(":")[0]: float(b.get("width")) for b in bars(root)}
    # CSP N (285 min) against CSP C&S (135 min).
    assert abs(widths["CSP N"] / widths["CSP C&S"] - 285 / 135) < 0.02


def test_unrestored_cohort_is_open_ended_with_a_marker():
    data = demo(resolved_at=None, open_until=uk("2023-04-04 12:00"), open_label="now", longest_cohort=None,
                callout="CSP N was not restored by now (12:00 BST).",
                cohorts=[svg.CohortSpan("CSP C&S", uk("2023-04-04 05:55"), uk("2023-04-04 08:10")),
                         svg.CohortSpan("CSP N", uk("2023-04-04 05:55"), None)])
    root = parse(svg.restoration_chart(data))
    open_bars = [b for b in bars(root) if "open" in b.get("class").split()]
    assert len(open_bars) == 1 and open_bars[0].get("stroke-dasharray")
    assert len([e for e in root.iter(f"{NS}polygon") if e.get("class") == "open-marker"]) == 1
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "Not restored" in texts and "by now 12:00 BST" in texts and "Open" in texts
    assert "not restored by now" in root.find(f"{NS}desc").text


def test_user_text_is_escaped_and_control_characters_dropped():
    nasty = '</title><script>alert(1)</script> & "quotes" \x01'
    data = demo(reference='INC<&>"', events=[svg.Event(uk("2023-04-04 07:00"), "update", None, nasty)],
                cohorts=[svg.CohortSpan('C<"&>', uk("2023-04-04 05:55"), uk("2023-04-04 08:10"))],
                longest_cohort='C<"&>', callout=nasty)
    markup = str(svg.restoration_chart(data))
    root = parse(markup)  # still well-formed XML
    assert "<script" not in markup
    event_titles = [g.find(f"{NS}title").text for g in root.iter(f"{NS}g") if g.get("class") == "event"]
    assert event_titles == ['07:00 BST · update: </title><script>alert(1)</script> & "quotes"']
    assert root.find(f"{NS}title").text == 'Restoration by cohort, INC<&>"'
    assert all(ch not in markup for ch in "\x01")
    assert root.get("aria-labelledby").startswith("chart-restoration-INC-")


def test_far_deadline_is_noted_not_drawn_and_far_events_left_out():
    data = demo(deadline_at=uk("2023-04-11 09:55"),
                events=[svg.Event(uk("2023-04-20 10:00"), "communication", None, "Weeks later.")])
    root = parse(svg.restoration_chart(data))
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "TRT deadline Tue 11 Apr 2023 09:55 BST, beyond the chart →" in texts
    assert not [g for g in root.iter(f"{NS}g") if g.get("class") == "event"]


def test_ticks_follow_uk_time_across_the_clock_change():
    # Sunday 26 March 2023: 01:00 GMT becomes 02:00 BST.
    start, end = uk("2023-03-25 22:00"), uk("2023-03-26 06:00")
    ticks = svg.time_ticks(start, end, LONDON)
    labels = [svg.clock(t, LONDON) for t in ticks]
    assert labels[0] == "22:00 GMT" and labels[-1].endswith("BST")
    steps = {(b - a) for a, b in pairwise(ticks)}
    assert len(steps) == 1  # evenly spaced in real time
    data = demo(started_at=start, resolved_at=end, open_until=end, deadline_at=None, events=[],
                cohorts=[svg.CohortSpan("DSP", start, end)], longest_cohort="DSP", callout=None)
    texts = ["".join(t.itertext()) for t in parse(svg.restoration_chart(data)).iter(f"{NS}text")]
    assert "UK local time (GMT, then BST: the clocks changed)" in texts
    # Whole-day ticks land on UK midnight on both sides of the change.
    days = svg.time_ticks(uk("2023-03-20 00:00"), uk("2023-04-02 00:00"), LONDON)
    assert all(t.astimezone(LONDON).strftime("%H:%M") == "00:00" for t in days) and len(days) >= 2


def test_no_cohorts_still_draws_the_incident():
    data = demo(cohorts=[], longest_cohort=None, callout=None, events=[])
    root = parse(svg.restoration_chart(data))
    assert bars(root) == []
    assert "No cohorts are recorded." in root.find(f"{NS}desc").text


def test_trend_chart_draws_both_series_targets_and_gaps():
    points = [svg.TrendPoint(f"2023-{m:02d}", f"{name} 2023", w, wo) for m, name, w, wo in [
        (2, "Feb", 100.0, 100.0), (3, "Mar", None, None), (4, "Apr", 66.67, 50.0), (5, "May", None, 0.0)]]
    markup = str(svg.trend_chart(code="CPM4", label="Cat 1-2 within TRT", points=points, target=100.0,
                                 minimum=85.0, selected="2023-04"))
    root = parse(markup)
    assert root.get("role") == "img" and root.find(f"{NS}title").text == "CPM4 month by month, Feb 2023 to May 2023"
    desc = root.find(f"{NS}desc").text
    assert "Apr 2023: 66.67 % with exclusions, 50 % without" in desc and "Mar 2023: no incidents" in desc
    assert "May 2023: n/a with exclusions, 0 % without" in desc
    with_points = [c for c in root.iter(f"{NS}circle") if c.get("class") == "point"]
    without_points = [r for r in root.iter(f"{NS}rect") if r.get("class") == "point"]
    assert (len(with_points), len(without_points)) == (2, 3)
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "Target 100 %" in texts and "Minimum 85 %" in texts and "66.67" in texts and texts.count("n/a") == 2
    assert len([r for r in root.iter(f"{NS}rect") if r.get("class") == "selected-month"]) == 1
    assert "style=" not in markup


def test_trend_chart_draws_the_dccs_figure_when_given():
    points = [svg.TrendPoint("2023-04", "Apr 2023", 33.33, 25.0, 100.0), svg.TrendPoint("2023-05", "May 2023", None,
                                                                                       None, None)]
    root = parse(svg.trend_chart(code="CPM4", label="Cat 1-2 within TRT", points=points, target=100.0,
                                 minimum=85.0))
    diamonds = [p for p in root.iter(f"{NS}path") if p.get("class") == "dcc-point"]
    assert len(diamonds) == 1 and diamonds[0].find(f"{NS}title").text == (
        "Apr 2023: 100 % with the DCC's exclusions")
    assert "Apr 2023: 33.33 % with exclusions, 25 % without, 100 % with the DCC's exclusions" in root.find(
        f"{NS}desc").text
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "With the DCC's exclusions" in texts and "With agreed exclusions" in texts

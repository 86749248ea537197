"""Working Days and Target Resolution Times."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.rules import service as rules_service
from incidents.rules.service import WorkingCalendar


def test_easter_2023_is_skipped():
    cal = WorkingCalendar("ENG")
    assert cal.add_working_days(date(2023, 4, 6), 1) == date(2023, 4, 11)
    assert cal.working_days_between(date(2023, 4, 6), date(2023, 4, 11)) == 1


def test_one_off_coronation_holiday_2023():
    cal = WorkingCalendar("ENG")
    assert not cal.is_working_day(date(2023, 5, 8))
    assert cal.add_working_days(date(2023, 5, 5), 1) == date(2023, 5, 9)


def test_scotland_differs():
    assert not WorkingCalendar("SCT").is_working_day(date(2023, 1, 2))
    assert WorkingCalendar("ENG").is_working_day(date(2023, 8, 7)) is True
    assert WorkingCalendar("SCT").is_working_day(date(2023, 8, 7)) is False


def test_extra_holidays():
    cal = WorkingCalendar("ENG", (date(2023, 4, 5),))
    assert cal.add_working_days(date(2023, 4, 4), 2) == date(2023, 4, 11)


@pytest.fixture()
def app_config():
    return {"TARGET_RESOLUTION": {"1": {"hours": 2}, "4": {"working_days": 3}}, "HOLIDAY_REGION": "ENG"}


def test_configured_targets(app):
    start = datetime(2023, 4, 6, 12, 0, tzinfo=UTC)  # Thu before Easter, 13:00 BST
    assert rules_service.describe_target(1) == "2 h"
    deadline = rules_service.target_deadline(4, start)
    # Three Working Days from Thursday 6 April: 11, 12, 13 April at the same wall-clock time.
    assert deadline == datetime(2023, 4, 13, 12, 0, tzinfo=UTC)
    assert rules_service.target_deadline(5, start) is None


@pytest.mark.parametrize("region", ["ENG", "SCT", "NIR"])
def test_working_days_between_counts_as_walking_day_by_day(region):
    cal = WorkingCalendar(region, (date(2024, 5, 7), date(2025, 12, 27)))
    start = date(2019, 12, 20)
    for offset in (-400, -9, -1, 0, 1, 3, 6, 7, 8, 13, 365, 1500):
        end = start + timedelta(days=offset)
        low, high = min(start, end), max(start, end)
        walked = sum(cal.is_working_day(low + timedelta(days=n)) for n in range(1, (high - low).days + 1))
        assert cal.working_days_between(start, end) == (walked if end >= start else -walked), (region, offset)

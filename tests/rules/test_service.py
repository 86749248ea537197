"""Working Days and Target Resolution Times."""
from __future__ import annotations

from datetime import UTC, date, datetime

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

"""CPM4/CPM5 against hand-computed months."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.pmr import service as pmr_service
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from tests import factories

MAY = datetime(2023, 5, 10, 9, 0, tzinfo=UTC)


def _incident(users, now, *, hours: float, category: int = 1, responsible: bool = True, start=MAY):
    return factories.incident(actor=users["dcc"], now=now, category=category, dcc_responsible=responsible,
                              started_at=start, detected_at=start, resolved_at=start + timedelta(hours=hours),
                              cohorts=[])


def _exclude(incident, users, now, outcome: str | None):
    review_service.propose(incident=incident, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    if outcome:
        review_service.review_exclusion(incident=incident, outcome=outcome, comment="Noted.", actor=users["secas"],
                                        now=now)


@pytest.fixture()
def month(app, users, now):
    principle_service.seed_defaults()
    db.session.commit()


def _cpm(code: str, month: str = "2023-05"):
    return {m.code: m for m in pmr_service.measures(month)}[code]


def test_exclusions_agreed_pending_and_disagreed(month, users, now):
    met = _incident(users, now, hours=3)                    # within 4 h
    agreed = _incident(users, now, hours=6)                 # outside, exclusion agreed
    pending = _incident(users, now, hours=5)                # outside, exclusion pending
    disagreed = _incident(users, now, hours=9, category=2)  # outside 8 h, SECAS disagreed
    _incident(users, now, hours=1, responsible=False)       # not the DCC's to resolve: outside the measure
    _incident(users, now, hours=30, category=3)             # CPM5, outside 24 h
    _exclude(agreed, users, now, "agreed")
    _exclude(pending, users, now, None)
    _exclude(disagreed, users, now, "disagreed")
    db.session.commit()
    cpm4 = _cpm("CPM4")
    # Without exclusions: 1 of 4 within TRT. With the agreed exclusion applied: 1 of 3.
    assert (cpm4.total, cpm4.total_within_target, cpm4.percent_without_exclusions) == (4, 1, 25.0)
    assert (cpm4.counted, cpm4.within_target, cpm4.percent_with_exclusions) == (3, 1, 33.33)
    assert (cpm4.excluded, cpm4.pending_exclusion, cpm4.status) == (1, 1, "below_minimum")
    treatments = {row["reference"]: row["treatment"] for row in cpm4.incidents}
    assert treatments == {met.reference: "counted", agreed.reference: "excluded",
                          pending.reference: "exclusion_pending", disagreed.reference: "counted"}
    cpm5 = _cpm("CPM5")
    assert (cpm5.counted, cpm5.within_target, cpm5.percent_with_exclusions) == (1, 0, 0.0)


def test_no_incidents_and_all_excluded(month, users, now):
    assert _cpm("CPM4").status == "no_incidents" and _cpm("CPM4").percent_with_exclusions is None
    only = _incident(users, now, hours=6)
    _exclude(only, users, now, "agreed")
    db.session.commit()
    cpm4 = _cpm("CPM4")
    assert (cpm4.counted, cpm4.percent_with_exclusions, cpm4.percent_without_exclusions) == (0, None, 0.0)
    assert cpm4.status == "no_incidents"


def test_month_is_uk_local_and_status_levels(month, users, now):
    # Resolved 31 May 23:30 UTC = 1 June 00:30 BST: a June incident.
    _incident(users, now, hours=2, start=datetime(2023, 5, 31, 21, 30, tzinfo=UTC))
    db.session.commit()
    assert _cpm("CPM4", "2023-05").total == 0
    assert _cpm("CPM4", "2023-06").percent_with_exclusions == 100.0
    assert _cpm("CPM4", "2023-06").status == "met"
    assert pmr_service.status_for(90.0, target=100, minimum=85) == "below_target"
    with pytest.raises(ValidationError):
        pmr_service.measures("2023-13")


def test_demo_april_2023_as_the_dcc_reported_it(app):
    """Four Category 1-2 incidents, two within TRT; the DCC excluded INC000001001905, SECAS has not agreed it.

    By hand: without exclusions 2/4 = 50 %; with the DCC's exclusion 2/3 = 66.67 % (what it reported); with only the
    exclusions SECAS agreed (none) 2/4 = 50 %.
    """
    from incidents.demo import service as demo_service
    demo_service.seed()
    db.session.commit()
    cpm4 = _cpm("CPM4", "2023-04")
    assert (cpm4.total, cpm4.total_within_target) == (4, 2)
    assert cpm4.percent_without_exclusions == 50.0
    assert (cpm4.counted, cpm4.within_target, cpm4.excluded, cpm4.pending_exclusion) == (4, 2, 0, 1)
    assert cpm4.percent_with_exclusions == 50.0
    pending = [row for row in cpm4.incidents if row["treatment"] == "exclusion_pending"]
    assert [(row["reference"], row["within_target"]) for row in pending] == [("INC000001001905", False)]
    assert round(100 * (cpm4.total_within_target - 0) / (cpm4.total - len(pending)), 2) == 66.67

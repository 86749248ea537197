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
    assert (cpm4.percent_with_dcc_exclusions, cpm4.dcc_counted, cpm4.dcc_within_target) == (66.67, 3, 2)
    pending = [row for row in cpm4.incidents if row["treatment"] == "exclusion_pending"]
    assert [(row["reference"], row["within_target"]) for row in pending] == [("INC000001001905", False)]
    assert round(100 * (cpm4.total_within_target - 0) / (cpm4.total - len(pending)), 2) == 66.67


# --- The three figures: without exclusions, with the DCC's, with the agreed ones -----------------

@pytest.fixture()
def four(month, users, now):
    """May 2023 by hand: four Category 1-2 incidents the DCC resolves, one within its TRT.

    - met: 3 h at Cat 1, within 4 h; no treatment proposed.
    - agreed: 6 h at Cat 1, outside; the DCC excluded it and SECAS agreed.
    - pending: 5 h at Cat 1, outside; the DCC excluded it, SECAS has not answered.
    - asked: 9 h at Cat 2, outside 8 h; the DCC excluded it, SECAS asked for more information.

    Without exclusions 1 of 4 = 25 %. With the DCC's exclusions (agreed, pending, asked) 1 of 1 = 100 %.
    With the agreed exclusion only 1 of 3 = 33.33 %.
    """
    made = {"met": _incident(users, now, hours=3), "agreed": _incident(users, now, hours=6),
            "pending": _incident(users, now, hours=5), "asked": _incident(users, now, hours=9, category=2)}
    _exclude(made["agreed"], users, now, "agreed")
    _exclude(made["pending"], users, now, None)
    _exclude(made["asked"], users, now, "information_requested")
    db.session.commit()
    return made


def _figures(m):
    return (m.percent_without_exclusions, m.percent_with_dcc_exclusions, m.percent_with_exclusions)


def test_three_figures_on_a_hand_computed_month(four):
    cpm4 = _cpm("CPM4")
    assert _figures(cpm4) == (25.0, 100.0, 33.33)
    assert (cpm4.total, cpm4.total_within_target) == (4, 1)
    assert (cpm4.dcc_counted, cpm4.dcc_within_target, cpm4.dcc_excluded) == (1, 1, 3)
    assert (cpm4.counted, cpm4.within_target, cpm4.excluded, cpm4.pending_exclusion) == (3, 1, 1, 2)
    assert (cpm4.status_with_dcc_exclusions, cpm4.status) == ("met", "below_minimum")
    lines = {row["reference"]: (row["exclusion_state"], row["excluded_by_dcc"], row["treatment"])
             for row in cpm4.incidents}
    assert lines == {four["met"].reference: ("not_proposed", False, "counted"),
                     four["agreed"].reference: ("agreed", True, "excluded"),
                     four["pending"].reference: ("pending", True, "exclusion_pending"),
                     four["asked"].reference: ("information_requested", True, "exclusion_pending")}
    # The trend's month is the same month, from its own grouped queries.
    may = {t.month: t for t in pmr_service.trend("2023-05")["CPM4"]}["2023-05"]
    assert (may.percent_without_exclusions, may.percent_with_dcc_exclusions, may.percent_with_exclusions) == (
        25.0, 100.0, 33.33)


def test_secas_disagreeing_takes_the_exclusion_out_of_the_dccs_figure(four, users, now):
    review_service.review_exclusion(incident=four["pending"], outcome="disagreed", comment="Within the DCC's control.",
                                    actor=users["secas"], now=now)
    db.session.commit()
    cpm4 = _cpm("CPM4")
    # The DCC's figure now counts the disagreed one: 1 of 2 = 50 %; the other two figures are unchanged.
    assert _figures(cpm4) == (25.0, 50.0, 33.33)
    assert (cpm4.dcc_counted, cpm4.dcc_excluded, cpm4.pending_exclusion) == (2, 2, 1)
    line = {row["reference"]: row for row in cpm4.incidents}[four["pending"].reference]
    assert (line["exclusion_state"], line["excluded_by_dcc"], line["treatment"]) == ("disagreed", False, "counted")
    assert pmr_service.standing("disagreed") == "Counted in every figure: SECAS disagreed with the DCC's exclusion"
    # Answering SECAS's request puts that exclusion back under review: still in the DCC's figure.
    review_service.propose(incident=four["asked"], exclude=True, principle="force-majeure", rationale="Storm.",
                           response="The storm's report.", actor=users["dcc"], now=now)
    db.session.commit()
    assert _figures(_cpm("CPM4")) == (25.0, 50.0, 33.33)
    may = {t.month: t for t in pmr_service.trend("2023-05")["CPM4"]}["2023-05"]
    assert (may.dcc_excluded, may.percent_with_dcc_exclusions) == (2, 50.0)

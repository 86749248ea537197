"""The PMR page's words where a measure has nothing left to count, and its figure without exclusions."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from tests import factories

MAY = datetime(2023, 5, 3, 9, 0, tzinfo=UTC)


def _only_incident_excluded(users, now):
    """May 2023: CPM4's only incident (Category 1, 6 h: outside TRT) excluded, and SECAS agreed."""
    principle_service.seed_defaults()
    incident = factories.incident(actor=users["dcc"], now=now, category=1, started_at=MAY, detected_at=MAY,
                                  resolved_at=MAY + timedelta(hours=6), cohorts=[])
    review_service.propose(incident=incident, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    review_service.review_exclusion(incident=incident, outcome="agreed", comment="Agreed.", actor=users["secas"],
                                    now=now)
    db.session.commit()
    return incident


def test_an_exclusion_that_leaves_nothing_to_measure_says_n_a_not_a_comparison_with_n_a(client, auth, users, now):
    incident = _only_incident_excluded(users, now)
    auth.login(users["opsg"])
    page = client.get("/pmr/2023-05").text
    assert 'data-measure="CPM4" data-kind="with">n/a<' in page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert (f"With the exclusion of {incident.reference} (not resolved within TRT) applied, no incident is left "
            "to measure, so CPM4 is n/a. Had it not been applied, CPM4 would be 0.00 %") in text
    assert "instead of n/a" not in text


def test_the_figure_without_exclusions_says_what_it_counts(client, auth, users, now):
    _only_incident_excluded(users, now)
    auth.login(users["opsg"])
    page = client.get("/pmr/2023-05").text
    assert '<p class="figure-label">Without exclusions (every incident counted)</p>' in page
    assert 'data-measure="CPM4" data-kind="without">0.00 %<' in page

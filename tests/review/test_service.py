"""The review workflow: every transition, every role, out-of-order steps, versioned principles."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from incidents.errors import (
    ConflictError,
    PermissionDenied,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.report.markdown import render
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review.models import ExclusionState, ReportState
from tests import factories

SECTIONS = {"summary": "Nationwide carrier outage.", "root_cause": "Carrier failure; CSP N NTE stuck.",
            "impact": "All cohorts.", "lessons_learned": "Keep NTE reset contacts.", "actions": "OPSG 97/04"}


@pytest.fixture()
def case(app, users, now):
    principle_service.seed_defaults()
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return incident


def _propose(case, users, now, **kw):
    args = {"exclude": True, "principle": "third-party-infrastructure",
            "rationale": "Restoration depended on a national carrier outside DCC control."}
    args.update(kw)
    return review_service.propose(incident=case, actor=users["dcc"], now=now, **args)


def test_real_case_end_to_end(case, users, now):
    first = _propose(case, users, now)
    review = review_service.get_review(case)
    assert review.exclusion_state == ExclusionState.PENDING
    assert review_service.pmr_treatment(review)["exclusion_pending"] is True
    review_service.review_exclusion(incident=case, outcome="information_requested",
                                    comment="What principles does the DCC apply to third-party outages?",
                                    actor=users["secas"], now=now)
    assert review.exclusion_state == ExclusionState.INFORMATION_REQUESTED
    with pytest.raises(ValidationError) as info:
        _propose(case, users, now)
    assert "response" in info.value.errors
    second = _propose(case, users, now, response="We apply the third-party infrastructure principle.")
    assert [p.round for p in review.proposals] == [1, 2]
    review_service.review_exclusion(incident=case, outcome="agreed", comment="Agreed.", actor=users["secas"], now=now)
    assert review_service.pmr_treatment(review)["excluded"] is True
    assert first.reviews[0].outcome.value == "information_requested" and second.reviews[0].outcome.value == "agreed"

    report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    version = report_service.submit(incident=case, actor=users["dcc"], now=now)
    assert version.is_frozen and version.generated["longest"].startswith("CSP N took longest")
    assert version.generated["pmr"]["principle_code"] == "third-party-infrastructure"

    review_service.record_decision(incident=case, meeting="OPSG_97", meeting_on=date(2023, 6, 26), outcome="agreed",
                                   minute="The group noted the review and agreed publication.", actor=users["opsg"],
                                   now=datetime(2023, 6, 27, tzinfo=UTC))
    assert review.report_state == ReportState.AGREED
    publication = review_service.publish(incident=case, classification="GREEN", actor=users["secas"], now=now)
    assert review.report_state == ReportState.PUBLISHED
    assert publication.report_version.number == version.number
    db.session.commit()
    pub = review_service.get_published(case.reference, viewer=users["party"])
    assert pub.review_id == review.id and pub.classification.value == "GREEN"


def test_roles_on_each_step(case, users, now):
    for role in ("secas", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            review_service.propose(incident=case, exclude=False, actor=users[role], now=now)
    _propose(case, users, now)
    for role in ("dcc", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            review_service.review_exclusion(incident=case, outcome="agreed", comment="x", actor=users[role], now=now)
    for role in ("secas", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            report_service.save_draft(incident=case, sections=SECTIONS, classification=None, actor=users[role], now=now)
    for role in ("dcc", "party"):
        with pytest.raises(PermissionDenied):
            review_service.record_decision(incident=case, meeting="OPSG_97", meeting_on=date(2023, 6, 26),
                                           outcome="agreed", minute="x", actor=users[role], now=now)
    for role in ("dcc", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            review_service.publish(incident=case, classification="GREEN", actor=users[role], now=now)


def test_steps_out_of_order_say_what_comes_first(case, users, now):
    with pytest.raises(ConflictError, match="must propose an exclusion first"):
        review_service.review_exclusion(incident=case, outcome="agreed", comment="ok", actor=users["secas"], now=now)
    with pytest.raises(ConflictError, match="record an 'agreed' decision first"):
        review_service.publish(incident=case, classification="GREEN", actor=users["secas"], now=now)
    with pytest.raises(ConflictError, match="submit the Review Report first"):
        review_service.record_decision(incident=case, meeting="OPSG_97", meeting_on=date(2023, 6, 26),
                                       outcome="agreed", minute="x", actor=users["opsg"], now=now)
    with pytest.raises(ConflictError, match="no draft to submit"):
        report_service.submit(incident=case, actor=users["dcc"], now=now)
    _propose(case, users, now)
    with pytest.raises(ConflictError, match="SECAS is reviewing"):
        _propose(case, users, now)
    report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    report_service.submit(incident=case, actor=users["dcc"], now=now)
    with pytest.raises(ConflictError, match="already submitted"):
        report_service.submit(incident=case, actor=users["dcc"], now=now)
    with pytest.raises(ConflictError, match="has not settled"):
        review_service.record_decision(incident=case, meeting="OPSG_97", meeting_on=date(2023, 5, 26),
                                       outcome="agreed", minute="x", actor=users["opsg"], now=now)


def test_disagreement_stands_until_a_new_proposal(case, users, now):
    _propose(case, users, now)
    review_service.review_exclusion(incident=case, outcome="disagreed", comment="Carrier resilience is the "
                                    "DCC's responsibility.", actor=users["secas"], now=now)
    review = review_service.get_review(case)
    assert review_service.pmr_treatment(review)["excluded"] is False
    review_service.propose(incident=case, exclude=False, actor=users["dcc"], now=now)
    assert review.exclusion_state == ExclusionState.INCLUDED


def test_principle_wording_is_kept_after_reword_and_retire(case, users, now):
    proposal = _propose(case, users, now)
    original = proposal.principle_wording
    principle = principle_service.get_principle("third-party-infrastructure")
    principle_service.reword(principle=principle, wording="Reworded principle.", actor=users["admin"], now=now)
    principle_service.set_retired(principle=principle, retired=True, actor=users["admin"], now=now)
    db.session.commit()
    db.session.refresh(proposal)
    assert proposal.principle_wording == original
    assert [v.number for v in principle.versions] == [1, 2]
    with pytest.raises(PermissionDenied):
        principle_service.reword(principle=principle, wording="x", actor=users["dcc"], now=now)
    review_service.review_exclusion(incident=case, outcome="information_requested", comment="More please.",
                                    actor=users["secas"], now=now)
    with pytest.raises(ValidationError) as info:
        _propose(case, users, now, response="Here.")
    assert "retired" in info.value.errors["principle"][0]


def test_report_versions_freeze_and_diff(case, users, now):
    v1 = report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    same = report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    assert same.number == v1.number
    etag = report_service.report_etag(review_service.get_review(case))
    report_service.submit(incident=case, actor=users["dcc"], now=now)
    with pytest.raises(StaleError):
        report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"],
                                  expected='"report-0-v0"', now=now)
    v2 = report_service.save_draft(incident=case, sections={**SECTIONS, "summary": "Revised summary."},
                                   classification="AMBER", actor=users["dcc"], expected=etag, now=now)
    assert v2.number == 2 and not v2.is_frozen and v1.is_frozen
    assert review_service.get_review(case).report_state == ReportState.DRAFT
    changes = dict(report_service.diff(v1, v2))["Summary"]
    assert [(line.kind, line.text) for line in changes] == [("removed", "Nationwide carrier outage."),
                                                            ("added", "Revised summary.")]


def test_red_is_never_published(case, users, now):
    review_service.propose(incident=case, exclude=False, actor=users["dcc"], now=now)
    report_service.save_draft(incident=case, sections=SECTIONS, classification="RED", actor=users["dcc"], now=now)
    report_service.submit(incident=case, actor=users["dcc"], now=now)
    review_service.record_decision(incident=case, meeting="OPSG_97", meeting_on=date(2023, 5, 30), outcome="agreed",
                                   minute="Agreed.", actor=users["secas"], now=now)
    # None: the form or request named no classification at all.
    for level in (Classification.RED, Classification.AMBER, None):
        with pytest.raises(ValidationError):
            review_service.publish(incident=case, classification=level, actor=users["secas"], now=now)
    review_service.publish(incident=case, classification="WHITE", actor=users["secas"], now=now)
    # A correction starts as a new draft; the published edition is untouched by it.
    correction = report_service.save_draft(incident=case, sections={**SECTIONS, "impact": "Corrected."},
                                           classification="RED",
                                           actor=users["dcc"], now=now)
    published = review_service.get_published(case.reference, viewer=users["party"])
    assert correction.number == 2 and (published.version_number, published.classification) == (1, Classification.WHITE)
    with pytest.raises(ConflictError, match="published"):
        review_service.propose(incident=case, exclude=True, principle="third-party-infrastructure",
                               rationale="Later.", actor=users["dcc"], now=now)


def test_unpublished_reports_are_not_found_for_parties(case, users, now):
    from incidents.errors import NotFound
    with pytest.raises(NotFound):
        review_service.get_published(case.reference, viewer=users["party"])
    assert review_service.published_list(viewer=users["party"]) == []


def test_markdown_is_sanitised():
    html = str(render('<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<a href="#" onclick="x()">y</a>'
                      '\n\n**bold** [ok](https://example.org)'))
    import re
    assert "<script" not in html and not re.search(r"<[^>]*onclick", html) and 'href="javascript' not in html
    assert "<strong>bold</strong>" in html and 'href="https://example.org"' in html

"""The review workflow: every transition, every role, out-of-order steps, versioned principles."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from incidents.action.models import Action
from incidents.audit import service as audit_service
from incidents.errors import (
    ConflictError,
    PermissionDenied,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.report.markdown import render
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review.models import (
    Decision,
    DecisionOutcome,
    ExclusionState,
    ReportState,
)
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

    factories.decision(case, meeting_ref="OPSG_97", held_on=date(2023, 6, 26), classification="GREEN",
                       minute="The group noted the review and agreed publication.", actor=users["opsg"],
                       now=datetime(2023, 6, 27, tzinfo=UTC))
    assert review.report_state == ReportState.AGREED
    publication = review_service.publish(incident=case, actor=users["secas"], now=now)
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
            review_service.record_decision(incident=case, meeting="OPSG_97", report_version=1,
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
        review_service.record_decision(incident=case, meeting="OPSG_97", report_version=1,
                                       outcome="agreed", minute="x", actor=users["opsg"], now=now)
    with pytest.raises(ConflictError, match="no draft to submit"):
        report_service.submit(incident=case, actor=users["dcc"], now=now)
    report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    report_service.submit(incident=case, actor=users["dcc"], now=now)
    with pytest.raises(ConflictError, match="waiting for the Operations Group's decision"):
        report_service.submit(incident=case, actor=users["dcc"], now=now)
    with pytest.raises(ConflictError, match="has not stated the PMR treatment"):
        review_service.record_decision(incident=case, meeting="OPSG_97", report_version=1,
                                       outcome="agreed", minute="x", actor=users["opsg"], now=now)
    _propose(case, users, now)
    with pytest.raises(ConflictError, match="SECAS is reviewing"):
        _propose(case, users, now)


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
    report_service.withdraw(incident=case, actor=users["dcc"], now=now)
    etag = report_service.report_etag(review_service.get_review(case))
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


def _submitted(case, users, now, classification="AMBER", sections=SECTIONS):
    if review_service.get_review(case) is None or review_service.get_review(case).exclusion_state.value == "not_proposed":
        review_service.propose(incident=case, exclude=False, actor=users["dcc"], now=now)
    report_service.save_draft(incident=case, sections=sections, classification=classification, actor=users["dcc"],
                              now=now)
    return report_service.submit(incident=case, actor=users["dcc"], now=now)


def _decide(case, users, now, version, **kw):
    args = {"meeting": "OPSG_96", "outcome": "agreed", "classification": "GREEN", "minute": "Agreed."} | kw
    return review_service.record_decision(incident=case, report_version=version, actor=users["secas"], now=now, **args)


def test_a_decision_names_the_version_waiting_and_that_version_cannot_be_swapped(case, users, now):
    factories.meeting("OPSG_96", date(2023, 5, 30), actor=users["secas"])
    v1 = _submitted(case, users, now)
    # Waiting for the group: neither edited nor replaced.
    with pytest.raises(ConflictError, match="version 1 is waiting for the Operations Group's decision. Withdraw"):
        report_service.save_draft(incident=case, sections={**SECTIONS, "summary": "Swapped."}, classification="AMBER",
                                  actor=users["dcc"], now=now)
    with pytest.raises(ValidationError) as info:
        _decide(case, users, now, None)
    assert "report_version" in info.value.errors
    # The DCC withdraws v1 explicitly (audited; it leaves the pack) and submits v2.
    report_service.withdraw(incident=case, actor=users["dcc"], now=now)
    review = review_service.get_review(case)
    assert review.report_state == ReportState.DRAFT and v1.withdrawn_at == now
    assert review_service.awaiting_version(review) is None
    with pytest.raises(ConflictError, match="submit the Review Report first"):
        _decide(case, users, now, 1)
    v2 = _submitted(case, users, now, sections={**SECTIONS, "summary": "Revised after review."})
    assert v2.number == 2
    with pytest.raises(ConflictError, match="Version 1 is not the version waiting for the Operations Group: version 2"):
        _decide(case, users, now, 1)
    decision = _decide(case, users, now, 2)
    assert decision.report_version.number == 2
    # Agreed: frozen until published, and exactly that version is published.
    with pytest.raises(ConflictError, match="SECAS must publish it"):
        report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=now)
    with pytest.raises(ConflictError, match="nothing to withdraw"):
        report_service.withdraw(incident=case, actor=users["dcc"], now=now)
    assert review_service.publish(incident=case, actor=users["secas"], now=now).report_version.number == 2
    db.session.commit()
    trail = [e.summary for e in audit_service.entries_for_incident(case.id)]
    assert any(s == "Withdrew report version 1 from the Operations Group" for s in trail)


def test_a_red_version_is_never_agreed_for_publication_whatever_classification(case, users, now):
    factories.meeting("OPSG_96", date(2023, 5, 30), actor=users["secas"])
    _submitted(case, users, now, classification="RED")
    for level in ("GREEN", "WHITE", "AMBER", None):
        with pytest.raises(ConflictError, match="A version classified RED is never agreed for publication"):
            _decide(case, users, now, 1, classification=level)
    # The group may still say no (the DCC then revises it).
    assert _decide(case, users, now, 1, outcome="not_agreed", classification=None).classification is None


def test_a_red_version_agreed_before_the_rule_is_never_published(case, users, now):
    _submitted(case, users, now, classification="RED")
    review = review_service.get_review(case)
    # A decision recorded before decisions named a classification (or by a direct write).
    db.session.add(Decision(review=review, meeting="OPSG_96", meeting_on=date(2023, 5, 30),
                            outcome=DecisionOutcome.AGREED, minute="Agreed.", report_version=review.report_versions[0],
                            recorded_at=now))
    review.report_state = ReportState.AGREED
    db.session.flush()
    for level in ("GREEN", "WHITE", "RED", None):
        with pytest.raises(ConflictError, match="A version classified RED is never agreed for publication nor "
                                                "published"):
            review_service.publish(incident=case, classification=level, actor=users["secas"], now=now)


def test_publication_is_under_the_classification_the_group_agreed(case, users, now):
    factories.meeting("OPSG_96", date(2023, 5, 30), actor=users["secas"])
    _submitted(case, users, now, classification="AMBER")
    for level, says in ((None, "GREEN or WHITE"), ("AMBER", "not AMBER"), ("RED", "not RED")):
        with pytest.raises(ValidationError) as info:
            _decide(case, users, now, 1, classification=level)
        assert says in info.value.errors["classification"][0]
    decision = _decide(case, users, now, 1, classification="WHITE")
    assert decision.classification == Classification.WHITE
    with pytest.raises(ConflictError, match="agreed publication as WHITE at OPSG_96; the report is published as "
                                            "agreed, not as GREEN"):
        review_service.publish(incident=case, classification="GREEN", actor=users["secas"], now=now)
    publication = review_service.publish(incident=case, actor=users["secas"], now=now)
    assert publication.classification == Classification.WHITE
    # A correction starts as a new draft; the published edition is untouched by it.
    correction = report_service.save_draft(incident=case, sections={**SECTIONS, "impact": "Corrected."},
                                           classification="RED", actor=users["dcc"], now=now)
    published = review_service.get_published(case.reference, viewer=users["party"])
    assert correction.number == 2 and (published.version_number, published.classification) == (1, Classification.WHITE)
    with pytest.raises(ConflictError, match="published"):
        review_service.propose(incident=case, exclude=True, principle="third-party-infrastructure",
                               rationale="Later.", actor=users["dcc"], now=now)


def test_a_decision_is_taken_at_a_meeting_of_the_register(case, users, now):
    _submitted(case, users, now)
    later = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for name in ("OPSG_139", "OPSG 97", ""):
        with pytest.raises(ValidationError) as info:
            _decide(case, users, later, 1, meeting=name)
        assert "not in it" in info.value.errors["meeting"][0]
    meeting_service.schedule(reference="OPSG_139", held_on=date(2026, 12, 29), actor=users["secas"], now=later)
    with pytest.raises(ValidationError) as info:
        _decide(case, users, later, 1, meeting="OPSG_139")
    assert "OPSG_139 is on 2026-12-29, which is still to come" in info.value.errors["meeting"][0]
    held = meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"], now=later)
    decision = _decide(case, users, later, 1, meeting="OPSG_97")
    assert (decision.meeting, decision.meeting_on, decision.meeting_id) == ("OPSG_97", date(2023, 6, 26), held.id)


def test_actions_minuted_with_a_decision_are_on_the_register_once(case, users, now):
    meeting = factories.meeting("OPSG_96", date(2023, 5, 30), actor=users["secas"])
    _submitted(case, users, now)
    db.session.commit()
    minuted = [review_service.MinutedAction(reference="OPSG 96/04", owner="dcc", target_on=date(2023, 7, 24),
                                            text="DCC to confirm its exclusion principles."),
               review_service.MinutedAction(reference="OPSG 96/05", owner="secas", target_on=date(2023, 6, 30),
                                            text="SECAS to circulate the report.")]
    wrong = [minuted[0], review_service.MinutedAction(reference="OPSG 95/01", owner="nobody", target_on=None,
                                                      text="")]
    with pytest.raises(ValidationError) as info:
        _decide(case, users, now, 1, outcome="deferred", classification=None, actions=wrong)
    assert "numbered OPSG 96/NN" in info.value.errors["actions[1].reference"][0]
    db.session.rollback()
    decision = _decide(case, users, now, 1, outcome="deferred", classification=None, actions=minuted)
    db.session.commit()
    rows = db.session.scalars(sa.select(Action).order_by(Action.reference)).all()
    assert [(a.reference, a.owner_org, a.target_on, a.raised_on, a.decision_id, [i.reference for i in a.incidents])
            for a in rows] == [
        ("OPSG 96/04", "dcc", date(2023, 7, 24), meeting.held_on, decision.id, [case.reference]),
        ("OPSG 96/05", "secas", date(2023, 6, 30), meeting.held_on, decision.id, [case.reference])]
    assert [a.reference for a in decision.actions] == ["OPSG 96/04", "OPSG 96/05"]
    # Minuting the same action again at a later decision is refused by name, not entered twice.
    with pytest.raises(ValidationError) as info:
        _decide(case, users, now, 1, actions=minuted[:1])
    assert "OPSG 96/04 is already on the register" in info.value.errors["actions[0].reference"][0]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Action.id))) == 2


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

"""The review workflow's rules in one place: which step a person may take on a review now, and why not.

Pages (which buttons and forms to offer), the API (403 for "you may not", 409 for
"not now"), the dashboard ("what you must do next") and the services all ask
this module; each refusal's message is written here once.
"""
from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app

from incidents import permissions
from incidents.errors import ConflictError, PermissionDenied, ServiceError
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.review.models import ExclusionState, ReportState, Review

# The PMR treatments SECAS has settled.
SETTLED = (ExclusionState.INCLUDED, ExclusionState.AGREED, ExclusionState.DISAGREED)
# The Operations Group may decide on publication once the DCC has stated the PMR treatment, settled by SECAS or
# not: at OPSG_97 it agreed the Review Report of INC000001001905 for publication while SECAS still questioned the
# DCC's exclusion. The exclusion is a matter of the PMR; publication is a matter of the report.
DECIDABLE = tuple(state for state in ExclusionState if state != ExclusionState.NOT_PROPOSED)
# Where an exclusion stands in the PMR. The DCC applies its exclusion in the figure it reports from the moment it
# proposes it, and keeps it there while SECAS reviews it or asks for more information; SECAS's disagreement takes it
# out. The agreed figure leaves an incident out only once SECAS has agreed.
EXCLUDED_BY_DCC = (ExclusionState.PENDING, ExclusionState.INFORMATION_REQUESTED, ExclusionState.AGREED)
EXCLUDED_AS_AGREED = (ExclusionState.AGREED,)
# The DCC's exclusions still under SECAS's review: in the DCC's figure, not yet in the agreed one.
EXCLUSION_UNDER_REVIEW = tuple(state for state in EXCLUDED_BY_DCC if state not in EXCLUDED_AS_AGREED)
# The PMR treatments from which the DCC may propose (again).
PROPOSABLE = (ExclusionState.NOT_PROPOSED, ExclusionState.INCLUDED, ExclusionState.INFORMATION_REQUESTED,
              ExclusionState.DISAGREED)
# The report states in which the DCC may write (a new version) and submit.
EDITABLE = (ReportState.NOT_STARTED, ReportState.DRAFT, ReportState.NOT_AGREED)
# The report states in which the report waits for the Operations Group's decision: the version waiting is fixed
# (what the pack circulated is what the group decides on) until the group decides or the DCC withdraws it.
AWAITING_DECISION = (ReportState.SUBMITTED, ReportState.DEFERRED)
# The SEC Panel Information Policy: a RED report goes to named recipients only.
RED_NEVER_PUBLISHED = ("A version classified RED is never agreed for publication nor published: RED reports go to "
                       "named recipients only (SEC Panel Information Policy). The DCC must withdraw it and submit a "
                       "version classified for SEC Parties.")

EXCLUSION_LABELS = {
    ExclusionState.NOT_PROPOSED: "No PMR treatment proposed yet",
    ExclusionState.INCLUDED: "Counted in the PMR (DCC proposes no exclusion)",
    ExclusionState.PENDING: "Exclusion proposed, waiting for SECAS",
    ExclusionState.INFORMATION_REQUESTED: "SECAS asked the DCC for more information",
    ExclusionState.AGREED: "Excluded from the PMR (SECAS agreed)",
    ExclusionState.DISAGREED: "SECAS disagreed: counted in the PMR unless the DCC proposes again",
}
REPORT_LABELS = {
    ReportState.NOT_STARTED: "Review Report not started",
    ReportState.DRAFT: "Review Report in draft",
    ReportState.SUBMITTED: "Review Report submitted, waiting for the Operations Group",
    ReportState.AGREED: "Operations Group agreed publication; waiting for SECAS to publish",
    ReportState.NOT_AGREED: "Operations Group did not agree publication; DCC to revise",
    ReportState.DEFERRED: "Operations Group deferred its decision",
    ReportState.PUBLISHED: "Published to SEC Parties",
}

# Who must act next in each state: the exclusion and the report each wait on at most one party.
EXCLUSION_WAITS_ON = {
    ExclusionState.NOT_PROPOSED: ("DCC", "Propose the PMR treatment (include, or exclude citing a principle)"),
    ExclusionState.PENDING: ("SECAS", "Review the proposed exclusion"),
    ExclusionState.INFORMATION_REQUESTED: ("DCC", "Answer SECAS's request for information and resubmit the proposal"),
}
REPORT_WAITS_ON = {
    ReportState.NOT_STARTED: ("DCC", "Write and submit the Major Incident Review Report"),
    ReportState.DRAFT: ("DCC", "Write and submit the Major Incident Review Report"),
    ReportState.NOT_AGREED: ("DCC", "Write and submit the Major Incident Review Report"),
    ReportState.SUBMITTED: ("OPSG", "Decide at a meeting whether the report may be published"),
    ReportState.DEFERRED: ("OPSG", "Decide at a meeting whether the report may be published"),
    ReportState.AGREED: ("SECAS", "Publish the agreed report to SEC Parties"),
}
# From resolution until the DCC records the Summary Report as sent, it waits on the DCC (to send it) and on SECAS
# (to receive it, and chase it when late): the tightest deadline of the review.
SUMMARY_WAITS_ON = {
    "DCC": "Send the Major Incident Summary Report and record it as sent",
    "SECAS": "Expect the DCC's Major Incident Summary Report; chase it if it is late",
}
DECISION_WAITS_FOR_DCC = "Decide on publication once the DCC has stated the PMR treatment"
# Once the Summary Report is late, SECAS's part is to chase it (a comment on the review): before then there is
# nothing for SECAS to do.
CHASE_SUMMARY = "Chase the DCC for its Major Incident Summary Report: it is late"
PARTIES = ("DCC", "SECAS", "OPSG")
# Who is held up until a step is taken: "what you must do next" puts these before mere deadlines, so a question
# SECAS asked this morning does not sort below a report due in a month.
EXCLUSION_HOLDS_UP = {
    ExclusionState.PENDING: "the DCC",  # it cannot propose again until SECAS has answered
    ExclusionState.INFORMATION_REQUESTED: "SECAS",  # it cannot settle the exclusion without the answer
}
REPORT_HOLDS_UP = {
    ReportState.SUBMITTED: "the DCC and SECAS",  # the DCC cannot revise, nor SECAS publish, until the group decides
    ReportState.DEFERRED: "the DCC and SECAS",
    ReportState.AGREED: "SEC Parties",  # they read only published reports
}
SUMMARY_HOLDS_UP = "SECAS"  # it expects the Summary Report


class Step(str, enum.Enum):
    """A step someone may take on a review."""

    PROPOSE = "propose"  # propose, or change, the PMR treatment
    ANSWER_REQUEST = "answer_request"  # propose again with an answer to SECAS's request for information
    REVIEW_EXCLUSION = "review_exclusion"  # SECAS: agree, disagree or request information
    SUMMARY_REPORT = "summary_report"
    WRITE_REPORT = "write_report"  # save a report version
    SUBMIT_REPORT = "submit_report"
    WITHDRAW_REPORT = "withdraw_report"  # take the version waiting for the group back, out of its pack
    RECORD_DECISION = "record_decision"
    PUBLISH = "publish"
    COMMENT = "comment"


# The step that does what each state waits for.
EXCLUSION_STEPS = {
    ExclusionState.NOT_PROPOSED: Step.PROPOSE,
    ExclusionState.PENDING: Step.REVIEW_EXCLUSION,
    ExclusionState.INFORMATION_REQUESTED: Step.ANSWER_REQUEST,
}
REPORT_STEPS = {
    ReportState.NOT_STARTED: Step.WRITE_REPORT,
    ReportState.DRAFT: Step.WRITE_REPORT,
    ReportState.NOT_AGREED: Step.WRITE_REPORT,
    ReportState.SUBMITTED: Step.RECORD_DECISION,
    ReportState.DEFERRED: Step.RECORD_DECISION,
    ReportState.AGREED: Step.PUBLISH,
}


@dataclass(frozen=True)
class Refusal:
    """Why a step is refused: the role may never take it (403), or not now (409)."""

    message: str
    is_forbidden: bool

    def error(self) -> ServiceError:
        """Return the error a service raises for this refusal."""
        return PermissionDenied(self.message) if self.is_forbidden else ConflictError(self.message)


@dataclass
class NextStep:
    """Who must act next, what they must do and by when (``step``: the step that does it; ``holds_up``: who waits)."""

    who: str
    what: str
    due_on: date | None = None
    step: Step | None = None
    holds_up: str = ""


ROLE_RULES: dict[Step, tuple[Callable[[Any], bool], str]] = {
    Step.PROPOSE: (permissions.can_propose_exclusion, "Only the DCC proposes the PMR treatment."),
    Step.ANSWER_REQUEST: (permissions.can_propose_exclusion, "Only the DCC proposes the PMR treatment."),
    Step.REVIEW_EXCLUSION: (permissions.can_review_exclusion, "Only SECAS reviews exclusions."),
    Step.SUMMARY_REPORT: (permissions.can_write_report, "Only the DCC records the Summary Report."),
    Step.WRITE_REPORT: (permissions.can_write_report, "Only the DCC writes the Review Report."),
    Step.SUBMIT_REPORT: (permissions.can_write_report, "Only the DCC submits the Review Report."),
    Step.WITHDRAW_REPORT: (permissions.can_write_report, "Only the DCC withdraws the Review Report it submitted."),
    Step.RECORD_DECISION: (permissions.can_record_decision,
                           "Only SECAS (as secretary) or an OPSG member records Operations Group decisions."),
    Step.PUBLISH: (permissions.can_publish, "Only SECAS publishes reports to SEC Parties."),
    Step.COMMENT: (permissions.can_comment, "You cannot comment on reviews."),
}


# --- Which incidents have a review -------------------------------------------------------

def review_categories() -> list[int]:
    """Return the Categories at which a newly logged incident is declared a Major Incident (1 and 2 by default)."""
    return list(current_app.config["REVIEW_CATEGORIES"])


def needs_review(incident: Incident) -> bool:
    """Tell whether the incident is a declared Major Incident, which gets a review and both reports."""
    return bool(incident.is_major)


def no_review_message(incident: Incident) -> str:
    """Return why an incident not declared a Major Incident has no review steps."""
    return (f"{incident.reference} (Category {incident.category}) is not declared a Major Incident; "
            "only declared Major Incidents have a review and Summary and Review Reports.")


# --- The state rules, one per step ----------------------------------------------------------

def _exclusion(review: Review | None) -> ExclusionState:
    return review.exclusion_state if review else ExclusionState.NOT_PROPOSED


def _report(review: Review | None) -> ReportState:
    return review.report_state if review else ReportState.NOT_STARTED


def _propose_now(incident: Incident, review: Review | None) -> str | None:
    if not needs_review(incident):
        return no_review_message(incident)
    state = _exclusion(review)
    if state == ExclusionState.PENDING:
        return "SECAS is reviewing the current proposal; wait for its outcome before proposing again."
    if state == ExclusionState.AGREED:
        return "SECAS has agreed the exclusion; it stands and cannot be re-proposed."
    if review is not None and (review.report_state == ReportState.PUBLISHED or review.publications):
        return "The report is published; the PMR treatment can no longer change."
    return None


def _answer_now(incident: Incident, review: Review | None) -> str | None:
    reason = _propose_now(incident, review)
    if reason is None and _exclusion(review) != ExclusionState.INFORMATION_REQUESTED:
        return "SECAS has not asked the DCC for more information; there is no request to answer."
    return reason


def _review_exclusion_now(incident: Incident, review: Review | None) -> str | None:
    if _exclusion(review) != ExclusionState.PENDING:
        return (f"No exclusion is waiting for review (state: {_exclusion(review).value}); "
                "the DCC must propose an exclusion first.")
    return None


def _summary_now(incident: Incident, review: Review | None) -> str | None:
    # Once sent, a new version is a revision (sent again or not); every version is kept.
    if not needs_review(incident):
        return no_review_message(incident)
    if incident.resolved_at is None:
        return "The incident is not resolved yet; the Summary Report follows resolution."
    return None


def summary_pending(incident: Incident, review: Review | None) -> bool:
    """Tell whether the Summary Report is due and not yet recorded as sent."""
    return (needs_review(incident) and incident.resolved_at is not None
            and (review is None or review.summary_submitted_at is None))


def _write_now(incident: Incident, review: Review | None) -> str | None:
    if not needs_review(incident):
        return no_review_message(incident)
    state = _report(review)
    if incident.resolved_at is None and state not in (ReportState.AGREED, *AWAITING_DECISION):
        # Like the Summary Report, the Review Report follows resolution: it reviews how service was restored, and
        # its deadline counts from the resolution.
        return "The incident is not resolved yet; the Review Report follows resolution."
    if state == ReportState.AGREED:
        return ("The report cannot be changed now: Operations Group agreed publication of the submitted version; "
                "SECAS must publish it before any further change.")
    # Once published, the published edition stays frozen; a correction is a new version, submitted and agreed
    # like the first, and published as a new edition superseding it.
    if state in AWAITING_DECISION:
        number = _waiting_number(review)
        return (f"The report cannot be changed now: version {number} is waiting for the Operations Group's decision. "
                "Withdraw it first (it leaves the meeting pack), then save and submit another version.")
    return None


def _waiting_number(review: Review | None) -> int | None:
    frozen = [v for v in review.report_versions if v.is_frozen] if review else []
    return frozen[-1].number if frozen else None


def _withdraw_now(incident: Incident, review: Review | None) -> str | None:
    if _report(review) not in AWAITING_DECISION:
        return (f"No submitted version is waiting for the Operations Group (report: {_report(review).value}); "
                "there is nothing to withdraw.")
    return None


def _submit_now(incident: Incident, review: Review | None) -> str | None:
    latest = review.report_versions[-1] if review and review.report_versions else None
    if needs_review(incident) and latest is None:
        return "There is no draft to submit; write the report first."
    reason = _write_now(incident, review)
    if reason is None and latest is not None and latest.is_frozen:
        return f"Version {latest.number} was already submitted; save a revision before submitting again."
    return reason


def _decide_now(incident: Incident, review: Review | None) -> str | None:
    if _report(review) not in AWAITING_DECISION:
        return (f"There is no submitted report waiting for a decision (report: {_report(review).value}); "
                "the DCC must submit the Review Report first.")
    if _exclusion(review) not in DECIDABLE:
        return ("The DCC has not stated the PMR treatment yet "
                f"({EXCLUSION_LABELS[_exclusion(review)]}); the decision must wait for it.")
    return None


def _publish_now(incident: Incident, review: Review | None) -> str | None:
    if _report(review) != ReportState.AGREED:
        return (f"The Operations Group has not agreed this report for publication (report: {_report(review).value}); "
                "record an 'agreed' decision first.")
    return None


def _comment_now(incident: Incident, review: Review | None) -> str | None:
    return None if needs_review(incident) else no_review_message(incident)


STATE_RULES: dict[Step, Callable[[Incident, Review | None], str | None]] = {
    Step.PROPOSE: _propose_now,
    Step.ANSWER_REQUEST: _answer_now,
    Step.REVIEW_EXCLUSION: _review_exclusion_now,
    Step.SUMMARY_REPORT: _summary_now,
    Step.WRITE_REPORT: _write_now,
    Step.SUBMIT_REPORT: _submit_now,
    Step.WITHDRAW_REPORT: _withdraw_now,
    Step.RECORD_DECISION: _decide_now,
    Step.PUBLISH: _publish_now,
    Step.COMMENT: _comment_now,
}


# --- Asking ----------------------------------------------------------------------------------

def role_refusal(step: Step, user: Any) -> Refusal | None:
    """Return why this user's role may never take the step, or None when it may."""
    may, message = ROLE_RULES[step]
    return None if may(user) else Refusal(message, is_forbidden=True)


def refusal(step: Step, *, user: Any, incident: Incident, review: Review | None) -> Refusal | None:
    """Return why the user may not take the step on this review now, or None when they may."""
    forbidden = role_refusal(step, user)
    if forbidden is not None:
        return forbidden
    reason = STATE_RULES[step](incident, review)
    return None if reason is None else Refusal(reason, is_forbidden=False)


def is_allowed(step: Step, *, user: Any, incident: Incident, review: Review | None) -> bool:
    """Tell whether the user may take the step on this review now."""
    return refusal(step, user=user, incident=incident, review=review) is None


def require_role(step: Step, user: Any) -> None:
    """Raise PermissionDenied when the user's role may never take the step."""
    forbidden = role_refusal(step, user)
    if forbidden is not None:
        raise forbidden.error()


def require(step: Step, *, user: Any, incident: Incident, review: Review | None) -> None:
    """Raise PermissionDenied (may not) or ConflictError (not now) unless the user may take the step now."""
    refused = refusal(step, user=user, incident=incident, review=review)
    if refused is not None:
        raise refused.error()


def steps(*, user: Any, incident: Incident, review: Review | None) -> dict[Step, Refusal | None]:
    """Return every step with why it is refused to this user now (None: allowed)."""
    return {step: refusal(step, user=user, incident=incident, review=review) for step in Step}


@dataclass
class Offers:
    """Which steps a page offers this person now, and why a decision must wait ("" when it need not)."""

    propose: bool
    answer: bool
    review: bool
    summary: bool
    write: bool
    submit: bool
    withdraw: bool
    decide: bool
    decision_waits: str
    publish: bool
    comment: bool
    write_waits: str = ""  # why the DCC cannot write the report yet ("" when it can, or may never)


def offers(*, user: Any, incident: Incident, review: Review | None) -> Offers:
    """Return which steps to offer this person on the review's pages."""
    found = steps(user=user, incident=incident, review=review)
    decide = found[Step.RECORD_DECISION]
    waits = (decide is not None and not decide.is_forbidden and _report(review) in AWAITING_DECISION)
    return Offers(
        propose=found[Step.PROPOSE] is None,
        answer=found[Step.ANSWER_REQUEST] is None,
        review=found[Step.REVIEW_EXCLUSION] is None,
        summary=found[Step.SUMMARY_REPORT] is None,
        write=found[Step.WRITE_REPORT] is None,
        submit=found[Step.SUBMIT_REPORT] is None,
        withdraw=found[Step.WITHDRAW_REPORT] is None,
        decide=decide is None,
        decision_waits=decide.message if waits and decide is not None else "",
        publish=found[Step.PUBLISH] is None,
        comment=found[Step.COMMENT] is None,
        write_waits=write.message if (write := found[Step.WRITE_REPORT]) and not write.is_forbidden else "",
    )


# --- Who must act next -------------------------------------------------------------------------

def next_steps(incident: Incident, review: Review | None) -> list[NextStep]:
    """List who must act next and by when, across the exclusion and the report."""
    if not needs_review(incident):
        return []
    summary_due_on, review_due_on = incident_service.report_due_dates(incident)
    found: list[NextStep] = []
    if summary_pending(incident, review):
        found.append(NextStep("DCC", SUMMARY_WAITS_ON["DCC"], summary_due_on, Step.SUMMARY_REPORT, SUMMARY_HOLDS_UP))
        # SECAS chases a late one with a comment on the review (kept with it, and seen by the DCC).
        found.append(NextStep("SECAS", SUMMARY_WAITS_ON["SECAS"], summary_due_on, Step.COMMENT))
    exclusion, report = _exclusion(review), _report(review)
    if exclusion in EXCLUSION_WAITS_ON:
        who, what = EXCLUSION_WAITS_ON[exclusion]
        # Until the DCC states the PMR treatment, a report waiting for the group waits for it too.
        holds_up = ("the Operations Group" if exclusion == ExclusionState.NOT_PROPOSED and report in AWAITING_DECISION
                    else EXCLUSION_HOLDS_UP.get(exclusion, ""))
        found.append(NextStep(who, what, summary_due_on if exclusion == ExclusionState.NOT_PROPOSED else None,
                              EXCLUSION_STEPS[exclusion], holds_up))
    if report in REPORT_WAITS_ON:
        who, what = REPORT_WAITS_ON[report]
        if report in AWAITING_DECISION and exclusion not in DECIDABLE:
            what = DECISION_WAITS_FOR_DCC
        found.append(NextStep(who, what, review_due_on if who == "DCC" else None, REPORT_STEPS[report],
                              REPORT_HOLDS_UP.get(report, "")))
    return found


def to_do(incident: Incident, review: Review | None, *, today: date) -> list[NextStep]:
    """List the next steps that can be taken now (each once), for "what you must do next".

    A step is listed only when its state rule allows it (the same rule that refuses it on the page, the API and
    in the service): not the Operations Group's decision before the DCC has stated the PMR treatment, nor a Review
    Report before the incident is resolved. SECAS's chase of the Summary Report is listed once the report is late.
    """
    listed: list[NextStep] = []
    seen: set[tuple[str, Step]] = set()
    for step in next_steps(incident, review):
        taken = step.step
        if taken is None or (step.who, taken) in seen or STATE_RULES[taken](incident, review) is not None:
            continue
        if step.what == SUMMARY_WAITS_ON["SECAS"]:
            if step.due_on is None or step.due_on >= today:
                continue  # nothing for SECAS to do until the Summary Report is late
            step = NextStep(step.who, CHASE_SUMMARY, step.due_on, taken, step.holds_up)
        seen.add((step.who, taken))
        listed.append(step)
    return listed


def waits_on_summary(party: str) -> bool:
    """Tell whether a Summary Report not yet sent waits on this party."""
    return party in SUMMARY_WAITS_ON


def waits_on(party: str) -> tuple[frozenset[ExclusionState], frozenset[ReportState]]:
    """Return the PMR treatments and report states in which a review waits on this party."""
    return (frozenset(state for state, (who, _) in EXCLUSION_WAITS_ON.items() if who == party),
            frozenset(state for state, (who, _) in REPORT_WAITS_ON.items() if who == party))


def published_edition_notice(review: Review | None) -> str | None:
    """Say, once a Review Report is published, that changing the incident leaves the published edition as it is,
    and how a correction reaches SEC Parties; None while nothing is published."""
    if review is None or not review.publications:
        return None
    latest = review.publications[-1]
    # The edition parties read is a frozen snapshot (review/edition.py): only a new agreed version changes it.
    return (f"The Review Report is published to SEC Parties ({latest.edition_label}, classified "
            f"{latest.classification.value}). Changes saved here do not change the published edition: SEC Parties "
            "keep reading it as it was agreed. To correct it, the DCC saves and submits a new version of the Review "
            "Report (its generated sections then show these changes); once the Operations Group agrees it at a "
            "meeting, SECAS publishes it as a new edition that supersedes this one.")


def holds_up_states(party: str) -> list[tuple[frozenset[ExclusionState] | None, frozenset[ReportState] | None]]:
    """Return the review states in which a step of this party holds someone up, each pair to be met together.

    None in a pair: any state. (The Summary Report not yet sent holds SECAS up too: see ``SUMMARY_HOLDS_UP``.)
    """
    found: list[tuple[frozenset[ExclusionState] | None, frozenset[ReportState] | None]] = []
    exclusions = frozenset(s for s, (who, _) in EXCLUSION_WAITS_ON.items() if who == party and s in EXCLUSION_HOLDS_UP)
    reports = frozenset(s for s, (who, _) in REPORT_WAITS_ON.items() if who == party and s in REPORT_HOLDS_UP)
    if exclusions:
        found.append((exclusions, None))
    if reports:
        found.append((None, reports))
    if EXCLUSION_WAITS_ON[ExclusionState.NOT_PROPOSED][0] == party:
        found.append((frozenset({ExclusionState.NOT_PROPOSED}), frozenset(AWAITING_DECISION)))
    return found

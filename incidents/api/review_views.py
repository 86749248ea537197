"""JSON API v1, review workflow: PMR treatment, SECAS review, the report, OPSG decisions, publication.

The same fixed order as ``views``: load (404; a SEC Party sees no unpublished
incident) -> role (403, asked of ``review.workflow``) -> If-Match (428/412) -> body shape (422) -> one
service call -> the answer is built -> one commit. A step out of order is the
service's ConflictError (409), whose detail says what must happen first.

If-Match on the PMR treatment and the report is optional while there is
nothing to overwrite (no review; no report version) and required once there
is: the services compare the ETags themselves (``expected``).
"""
from __future__ import annotations

from flask import Response, url_for

from incidents.api import auth, protocol
from incidents.api import review_schemas as schemas
from incidents.api.blueprint import is_lookup_key, load_incident
from incidents.errors import NotFound
from incidents.extensions import db
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.workflow import Step
from incidents.user.models import User


def _exclusion_url(reference: str) -> str:
    return url_for("api.get_exclusion", reference=reference)


# --- PMR treatment and SECAS review ---------------------------------------------------

def get_exclusion(reference: str) -> Response:
    """Read the PMR treatment, every proposal round with SECAS's outcomes, and the next steps."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    return protocol.respond(schemas.present_exclusion(incident, review), etag=review_service.review_etag(review))


def propose_exclusion(reference: str) -> Response:
    """Propose the PMR treatment (DCC): include, or exclude citing a principle."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.PROPOSE, user)
    review = review_service.get_review(incident)
    expected = protocol.expected_etag(review_service.review_etag(review), what="review", required=review is not None)
    body = protocol.parse_body(schemas.ExclusionProposalInput)
    with protocol.write_guard():
        review_service.propose(incident=incident, actor=user, expected=expected, **body.model_dump())
        review = review_service.get_review(incident)
        answer, etag = schemas.present_exclusion(incident, review), review_service.review_etag(review)
        db.session.commit()
    return protocol.respond(answer, etag=etag)


def review_exclusion(reference: str) -> Response:
    """Record SECAS's outcome on the pending exclusion: agreed, disagreed or information requested."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.REVIEW_EXCLUSION, user)
    body = protocol.parse_body(schemas.ExclusionReviewInput)
    with protocol.write_guard():
        review_service.review_exclusion(incident=incident, outcome=body.outcome, comment=body.comment, actor=user)
        review = review_service.get_review(incident)
        answer, etag = schemas.present_exclusion(incident, review), review_service.review_etag(review)
        db.session.commit()
    return protocol.respond(answer, 201, etag=etag, location=_exclusion_url(incident.reference))


def get_summary_report(reference: str) -> Response:
    """Read the Major Incident Summary Report: every version, when it is due, when it was sent."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    return protocol.respond(schemas.present_summary(incident, review), etag=review_service.summary_etag(review))


def record_summary_report(reference: str) -> Response:
    """Save a new version of the Summary Report (DCC), as a draft or recorded as sent (its reminders stop)."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.SUMMARY_REPORT, user)
    review = review_service.get_review(incident)
    expected = protocol.expected_etag(review_service.summary_etag(review), what="Summary Report",
                                      required=review_service.latest_summary(review) is not None)
    body = protocol.parse_body(schemas.SummaryReportInput)
    draft = review_service.SummaryDraft(sections=body.sections.model_dump(), recipients=list(body.recipients),
                                        is_sent=body.sent, sent_at=body.sent_at)
    with protocol.write_guard():
        review_service.record_summary_report(incident=incident, draft=draft, actor=user, expected=expected)
        review = review_service.get_review(incident)
        answer, etag = schemas.present_summary(incident, review), review_service.summary_etag(review)
        db.session.commit()
    return protocol.respond(answer, 201, etag=etag)


# --- The Review Report ------------------------------------------------------------------

def get_report(reference: str) -> Response:
    """Read the report's latest version (draft or frozen) with its generated sections."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    version = report_service.latest(review)
    if review is None or version is None:
        raise NotFound(f"The DCC has not saved a Review Report for {incident.reference} yet.")
    return protocol.respond(schemas.present_report(incident, review, version),
                            etag=report_service.report_etag(review))


def save_report(reference: str) -> Response:
    """Save the whole report as a new draft version (DCC); saving the same text adds no version."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.WRITE_REPORT, user)
    review = review_service.get_review(incident)
    expected = protocol.expected_etag(report_service.report_etag(review), what="report",
                                      required=report_service.latest(review) is not None)
    body = protocol.parse_body(schemas.ReportInput)
    with protocol.write_guard():
        version = report_service.save_draft(incident=incident, sections=body.sections.model_dump(),
                                            classification=body.classification, actor=user, expected=expected)
        review = review_service.get_review(incident)
        assert review is not None
        answer, etag = schemas.present_report(incident, review, version), report_service.report_etag(review)
        db.session.commit()
    return protocol.respond(answer, etag=etag)


def submit_report(reference: str) -> Response:
    """Submit the latest draft (DCC): it is frozen and goes to the Operations Group."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.SUBMIT_REPORT, user)
    review = review_service.get_review(incident)
    # Optional: with it, the DCC submits exactly the version it read.
    expected = protocol.expected_etag(report_service.report_etag(review), what="report", required=False)
    with protocol.write_guard():
        version = report_service.submit(incident=incident, actor=user, expected=expected)
        review = review_service.get_review(incident)
        assert review is not None
        answer, etag = schemas.present_report(incident, review, version), report_service.report_etag(review)
        db.session.commit()
    return protocol.respond(answer, etag=etag)


def withdraw_report(reference: str) -> Response:
    """Withdraw the version waiting for the Operations Group (DCC): it leaves the pack; another may be submitted."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.WITHDRAW_REPORT, user)
    with protocol.write_guard():
        version = report_service.withdraw(incident=incident, actor=user)
        review = review_service.get_review(incident)
        assert review is not None
        answer, etag = schemas.present_report(incident, review, version), report_service.report_etag(review)
        db.session.commit()
    return protocol.respond(answer, etag=etag)


def list_report_versions(reference: str) -> Response:
    """List every version of the report, oldest first."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    return protocol.respond(schemas.ReportVersionList(
        items=[schemas.present_version_summary(v) for v in (review.report_versions if review else [])]))


def get_report_version(reference: str, number: int) -> Response:
    """Read one version of the report with its text and generated sections."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    version = report_service.get_version(review, number)
    return protocol.respond(schemas.present_version(incident, review, version))


# --- Operations Group decision and publication ---------------------------------------------

def list_decisions(reference: str) -> Response:
    """List the Operations Group's decisions on the report, by meeting date."""
    incident = load_incident(reference, auth.current_user())
    review = review_service.get_review(incident)
    return protocol.respond(schemas.DecisionList(
        items=[schemas.present_decision(d) for d in (review.decisions if review else [])]))


def record_decision(reference: str) -> Response:
    """Record the Operations Group's decision on the submitted report (SECAS as secretary, OPSG)."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.RECORD_DECISION, user)
    body = protocol.parse_body(schemas.DecisionInput)
    actions = [review_service.MinutedAction(reference=a.reference, owner=a.owner, target_on=a.target_on, text=a.text)
               for a in body.actions]
    with protocol.write_guard():
        decision = review_service.record_decision(
            incident=incident, actor=user, meeting=body.meeting, report_version=body.report_version,
            outcome=body.outcome, classification=body.classification, minute=body.minute, actions=actions)
        answer = schemas.present_decision(decision)
        db.session.commit()
    return protocol.respond(answer, 201, location=url_for("api.list_decisions", reference=incident.reference))


def publish_report(reference: str) -> Response:
    """Publish the agreed version to SEC Parties under the classification the group agreed (SECAS)."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    workflow.require_role(Step.PUBLISH, user)
    body = protocol.parse_body(schemas.PublicationInput)
    with protocol.write_guard():
        publication = review_service.publish(incident=incident, classification=body.classification, actor=user)
        answer = schemas.present_publication(publication)
        db.session.commit()
    return protocol.respond(answer, 201, location=url_for("api.get_published", reference=answer.reference))


# --- What SEC Parties read ----------------------------------------------------------------

def _published(reference: str, user: User) -> schemas.PublishedReport:
    if not is_lookup_key(reference):
        raise NotFound(f"No published report for {reference!r}.")
    return schemas.present_published(review_service.get_published(reference, viewer=user))


def list_published() -> Response:
    """List every published report (its latest edition), newest first, as published (every role)."""
    publications = review_service.published_list(viewer=auth.current_user())
    return protocol.respond(schemas.PublishedReportList(
        items=[schemas.present_published(publication) for publication in publications]))


def get_published(reference: str) -> Response:
    """Read the published version of one report (every role); 404 while it is unpublished."""
    return protocol.respond(_published(reference, auth.current_user()))

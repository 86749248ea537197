"""Import every model so metadata (and Alembic) sees the whole schema."""
from incidents.action.models import Action, TargetRevision
from incidents.attachment.models import Attachment, AttachmentContent
from incidents.audit.models import AuditEntry
from incidents.auth.models import IdentityLink, IssuedSecret, LoginFailure, LoginSession
from incidents.document.models import ReportPdf
from incidents.idempotency.models import IdempotencyKey
from incidents.incident.models import Incident, IncidentCohort, TimelineEntry
from incidents.meeting.models import Meeting
from incidents.notification.models import (
    Event,
    Follow,
    Notification,
    Preference,
    Webhook,
    WebhookDelivery,
)
from incidents.pmr.models import RecordedMonth
from incidents.principle.models import ExclusionPrinciple, PrincipleVersion
from incidents.redaction.models import Redaction
from incidents.reminder.models import Reminder
from incidents.report.models import ReportVersion
from incidents.review.models import (
    Comment,
    Decision,
    ExclusionProposal,
    ExclusionReview,
    Publication,
    Review,
    SummaryReportVersion,
)
from incidents.user.models import ApiToken, User

__all__ = [
                                     "Action",
                                     "ApiToken",
                                     "Attachment",
                                     "AttachmentContent",
                                     "AuditEntry",
                                     "Comment",
                                     "Decision",
                                     "Event",
                                     "ExclusionPrinciple",
                                     "ExclusionProposal",
                                     "ExclusionReview",
                                     "Follow",
                                     "IdempotencyKey",
                                     "IdentityLink",
                                     "Incident",
                                     "IncidentCohort",
                                     "IssuedSecret",
                                     "LoginFailure",
                                     "LoginSession",
                                     "Meeting",
                                     "Notification",
                                     "Preference",
                                     "PrincipleVersion",
                                     "Publication",
                                     "RecordedMonth",
                                     "Redaction",
                                     "Reminder",
                                     "ReportPdf",
                                     "ReportVersion",
                                     "Review",
                                     "SummaryReportVersion",
                                     "TargetRevision",
                                     "TimelineEntry",
                                     "User",
                                     "Webhook",
                                     "WebhookDelivery",
]

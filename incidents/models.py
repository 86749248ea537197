"""Import every model so metadata (and Alembic) sees the whole schema."""
from incidents.action.models import Action, TargetRevision
from incidents.attachment.models import Attachment, AttachmentContent
from incidents.audit.models import AuditEntry
from incidents.auth.models import IdentityLink, IssuedSecret, LoginFailure, LoginSession
from incidents.document.models import ReportPdf
from incidents.extensions import Base
from incidents.idempotency.models import IdempotencyKey
from incidents.importer.models import ImportRecord
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
from incidents.search import ddl as search_ddl
from incidents.user.models import ApiToken, User

# The full-text indexes are no model: built beside the tables by create_all (tests) as migration 0016 builds them.
search_ddl.install(Base.metadata)

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
                                     "ImportRecord",
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

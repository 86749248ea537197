"""Import every model so metadata (and Alembic) sees the whole schema."""
from incidents.audit.models import AuditEntry
from incidents.incident.models import Incident, IncidentCohort, TimelineEntry
from incidents.user.models import ApiToken, User

__all__ = ["ApiToken", "AuditEntry", "Incident", "IncidentCohort", "TimelineEntry", "User"]

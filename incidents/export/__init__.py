"""Streaming CSV exports of the incident log, the actions register and audit trails."""

"""Scale: the PMR index also holds the incident id, so PostgreSQL answers a month's figures from the index alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BEFORE = ['resolved_at', 'category', 'dcc_responsible', 'target_deadline_at']


def upgrade():
    # Counting a month's incidents and joining their reviews needs each one's id: without it in the index,
    # PostgreSQL reads every incident row of the month from the table (SQLite's indexes hold the id anyway).
    op.drop_index('ix_incident_pmr', table_name='incident')
    op.create_index('ix_incident_pmr', 'incident', [*BEFORE, 'id'], unique=False)


def downgrade():
    op.drop_index('ix_incident_pmr', table_name='incident')
    op.create_index('ix_incident_pmr', 'incident', BEFORE, unique=False)

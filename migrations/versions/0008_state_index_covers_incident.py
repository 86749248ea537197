"""Scale: the review state index also holds the incident id; open actions are indexed by owner.

With the incident id in the state index, the reviews in given states (waiting on someone, excluded from the PMR)
are listed from the index alone, so the dashboard and the PMR count them without reading a row per incident.
The owner index lets the dashboard list one organisation's overdue actions without walking everyone's.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state', 'incident_id'], unique=False)
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index('ix_action_owner_status_target', ['owner_org', 'status', 'target_on'], unique=False)


def downgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_owner_status_target')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state'], unique=False)

"""Scale: indexes for the PMR's month scans and the filtered incident list; a data version for cached reads.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 20:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # One row, counting the commits that changed a record: cached heavy reads are valid while it stands still.
    version = op.create_table('data_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )
    op.bulk_insert(version, [{'id': 1, 'counter': 0}])
    with op.batch_alter_table('incident', schema=None) as batch_op:
        # Every PMR figure and the twelve-month trend filter on these columns and read no others.
        batch_op.create_index('ix_incident_pmr', ['resolved_at', 'category', 'dcc_responsible', 'target_deadline_at'],
                              unique=False)
        # A Category and status filter, newest first, without sorting the matches.
        batch_op.drop_index('ix_incident_category_status')
        batch_op.create_index('ix_incident_category_status_started', ['category', 'status', 'started_at', 'id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_category_status_started')
        batch_op.create_index('ix_incident_category_status', ['category', 'status'], unique=False)
        batch_op.drop_index('ix_incident_pmr')
    op.drop_table('data_version')

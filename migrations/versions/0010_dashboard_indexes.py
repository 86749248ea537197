"""Scale: the dashboard reads its counts and its walks from indexes alone.

- A review holds its incident's category (kept in step by the incident service whenever the category changes),
  and the review state index holds it too: the reviews of major incidents are counted by state from that
  index alone, not by looking up each review's incident (which grew with the years of reviews kept).
- The start-order index of incidents also holds the category, so the walk through major incidents in start
  order (the next steps when many reviews wait) reads the index alone.
- A second incident index holds each incident's id, category and start, so the reviews waiting on someone
  are put in their incidents' start order from that index rather than a row of the incident table each.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_category', sa.Integer(), nullable=True))
    op.execute("UPDATE review SET incident_category = "
               "(SELECT incident.category FROM incident WHERE incident.id = review.incident_id)")
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.alter_column('incident_category', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state', 'incident_id',
                                                   'incident_category'], unique=False)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_started_at_id')
        batch_op.create_index('ix_incident_started_at_id', ['started_at', 'id', 'category'], unique=False)
        batch_op.create_index('ix_incident_key', ['id', 'category', 'started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_key')
        batch_op.drop_index('ix_incident_started_at_id')
        batch_op.create_index('ix_incident_started_at_id', ['started_at', 'id'], unique=False)
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state', 'incident_id'], unique=False)
        batch_op.drop_column('incident_category')

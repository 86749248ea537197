"""Major Incidents declared, and the Summary Report as a document.

- An incident carries whether it was declared a Major Incident, when, and the DCC's reason for its latest
  declaration or undeclaration. The incidents already logged at Category 1 or 2 (the default configured
  Categories) are declared as of the time they were logged, with no reason (the default stood).
- A review keeps its incident's declaration beside its Category (the dashboard reads it from the review index).
- The Summary Report has versions: sections, recipients and the time sent. A Summary Report already recorded as
  sent becomes version 1, sent at the recorded time, marked as recorded before contents were kept.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 10:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The Categories declared Major Incidents by default when logged.
MAJOR_CATEGORIES = (1, 2)


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_major', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('major_declared_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('major_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_incident_major', ['is_major', 'started_at', 'id'], unique=False)
    incident = sa.table('incident', sa.column('id', sa.Integer()), sa.column('category', sa.Integer()), sa.column('is_major', sa.Boolean()),
                        sa.column('major_declared_at', sa.DateTime()), sa.column('created_at', sa.DateTime()))
    op.execute(incident.update().where(incident.c.category.in_(MAJOR_CATEGORIES))
               .values(is_major=True, major_declared_at=incident.c.created_at))

    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_is_major', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state', 'incident_id',
                                                   'incident_is_major'], unique=False)
    review = sa.table('review', sa.column('id', sa.Integer()), sa.column('incident_id', sa.Integer()),
                      sa.column('incident_is_major', sa.Boolean()),
                      sa.column('summary_submitted_at', sa.DateTime()))
    declared = sa.select(incident.c.is_major).where(incident.c.id == review.c.incident_id).scalar_subquery()
    op.execute(review.update().values(incident_is_major=sa.func.coalesce(declared, sa.true())))

    version = op.create_table(
        'summary_report_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('sections', sa.JSON(), nullable=False),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('has_contents', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by_name', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['review_id'], ['review.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('review_id', 'number', name='uq_summary_report_version_number'),
    )
    sent = op.get_bind().execute(sa.select(review.c.id, review.c.summary_submitted_at)
                                 .where(review.c.summary_submitted_at.is_not(None)).order_by(review.c.id)).all()
    if sent:
        op.bulk_insert(version, [{"review_id": review_id, "number": 1, "sections": {}, "recipients": [],
                                  "sent_at": at, "has_contents": False, "created_at": at, "created_by_id": None,
                                  "created_by_name": ""} for review_id, at in sent])


def downgrade():
    # The time each Summary Report was first sent stays in review.summary_submitted_at, as before.
    op.drop_table('summary_report_version')
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_states')
        batch_op.create_index('ix_review_states', ['exclusion_state', 'report_state', 'incident_id',
                                                   'incident_category'], unique=False)
        batch_op.drop_column('incident_is_major')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_major')
        batch_op.drop_column('major_reason')
        batch_op.drop_column('major_declared_at')
        batch_op.drop_column('is_major')

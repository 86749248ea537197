"""A published edition is wholly frozen: each publication keeps a snapshot of what SEC Parties read.

The reference, title and version number the lists show, the edition a correction supersedes (its version and
publication date), and the report as published (narrative sections and generated sections) move onto the
publication. Existing publications are backfilled from the frozen version they published, which has kept its
text and generated sections since it was submitted; a version frozen without generated sections (none is
expected) is given the facts, timeline and cohorts of its incident as they stand at this upgrade.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:15:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

publication = sa.table(
    'publication', sa.column('id', sa.Integer), sa.column('review_id', sa.Integer),
    sa.column('report_version_id', sa.Integer), sa.column('published_at', sa.DateTime),
    sa.column('reference', sa.String), sa.column('title', sa.String), sa.column('version_number', sa.Integer),
    sa.column('supersedes_version', sa.Integer), sa.column('supersedes_published_at', sa.DateTime),
    sa.column('snapshot', sa.JSON))
report_version = sa.table('report_version', sa.column('id', sa.Integer), sa.column('number', sa.Integer),
                          sa.column('sections', sa.JSON), sa.column('generated', sa.JSON))
review = sa.table('review', sa.column('id', sa.Integer), sa.column('incident_id', sa.Integer))
incident = sa.table('incident', sa.column('id', sa.Integer), sa.column('reference', sa.String),
                    sa.column('title', sa.String), sa.column('category', sa.Integer),
                    sa.column('started_at', sa.DateTime), sa.column('resolved_at', sa.DateTime),
                    sa.column('cause_category', sa.String), sa.column('devices_affected', sa.BigInteger))
cohort = sa.table('incident_cohort', sa.column('incident_id', sa.Integer), sa.column('name', sa.String),
                  sa.column('impact_started_at', sa.DateTime), sa.column('restored_at', sa.DateTime))
timeline = sa.table('timeline_entry', sa.column('id', sa.Integer), sa.column('incident_id', sa.Integer),
                    sa.column('occurred_at', sa.DateTime), sa.column('kind', sa.String),
                    sa.column('cohort', sa.String), sa.column('text', sa.Text))


def _iso(value):
    """Stored naive UTC (SQLite may answer text) as ISO 8601 with its offset, as reports keep times."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).isoformat()


def _from_record(conn, incident_id):
    """Generated sections for a version frozen without them: the incident as it stands now."""
    row = conn.execute(sa.select(incident).where(incident.c.id == incident_id)).one()
    started, resolved = row.started_at, row.resolved_at
    cohorts = []
    for c in conn.execute(sa.select(cohort).where(cohort.c.incident_id == incident_id).order_by(cohort.c.name)):
        minutes = None
        if c.restored_at is not None:
            minutes = int((datetime.fromisoformat(_iso(c.restored_at)) -
                           datetime.fromisoformat(_iso(c.impact_started_at))).total_seconds() // 60)
        cohorts.append({'name': c.name, 'impact_started_at': _iso(c.impact_started_at),
                        'restored_at': _iso(c.restored_at), 'minutes': minutes})
    entries = conn.execute(sa.select(timeline).where(timeline.c.incident_id == incident_id)
                           .order_by(timeline.c.occurred_at, timeline.c.id))
    duration = None
    if resolved is not None:
        duration = int((datetime.fromisoformat(_iso(resolved)) -
                        datetime.fromisoformat(_iso(started))).total_seconds() // 60)
    return {
        'facts': {'reference': row.reference, 'title': row.title, 'category': row.category,
                  'started_at': _iso(started), 'resolved_at': _iso(resolved), 'duration_minutes': duration,
                  'target': None, 'within_target': None, 'pmr_month': None, 'cause_category': row.cause_category,
                  'devices_affected': row.devices_affected},
        'timeline': [{'occurred_at': _iso(e.occurred_at), 'kind': e.kind, 'cohort': e.cohort, 'text': e.text}
                     for e in entries],
        'cohorts': cohorts, 'longest': None, 'pmr': {},
    }


def upgrade():
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('version_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('supersedes_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('supersedes_published_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(publication.c.id, publication.c.review_id, publication.c.published_at, review.c.incident_id,
                  report_version.c.number, report_version.c.sections, report_version.c.generated)
        .join(review, review.c.id == publication.c.review_id)
        .join(report_version, report_version.c.id == publication.c.report_version_id)
        .order_by(publication.c.review_id, publication.c.id)).all()
    previous = {}
    for row in rows:
        generated = row.generated or _from_record(conn, row.incident_id)
        facts = generated.setdefault('facts', {})
        if not facts.get('reference') or not facts.get('title'):
            live = conn.execute(sa.select(incident.c.reference, incident.c.title)
                                .where(incident.c.id == row.incident_id)).one()
            facts['reference'] = facts.get('reference') or live.reference
            facts['title'] = facts.get('title') or live.title
        before = previous.get(row.review_id)
        conn.execute(publication.update().where(publication.c.id == row.id).values(
            reference=str(facts['reference'])[:40], title=str(facts['title'])[:200], version_number=row.number,
            supersedes_version=before[0] if before else None, supersedes_published_at=before[1] if before else None,
            snapshot={'sections': row.sections or {}, 'generated': generated}))
        previous[row.review_id] = (row.number, row.published_at)

    with op.batch_alter_table('publication', schema=None) as batch_op:
        for name, kind in (('reference', sa.String(length=40)), ('title', sa.String(length=200)),
                           ('version_number', sa.Integer()), ('snapshot', sa.JSON())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_index('ix_publication_reference', ['reference', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_index('ix_publication_reference')
        batch_op.drop_column('snapshot')
        batch_op.drop_column('supersedes_published_at')
        batch_op.drop_column('supersedes_version')
        batch_op.drop_column('version_number')
        batch_op.drop_column('title')
        batch_op.drop_column('reference')

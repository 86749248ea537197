"""Attachments kept with the record, and passages withheld from the edition SEC Parties read.

- ``attachment``: a file on an incident, a timeline entry, an exclusion proposal or a report version, with the
  type found from its content, its size and SHA-256, and where its bytes are kept; ``attachment_content`` holds
  the bytes when they are kept in the database (the default).
- ``redaction``: a passage of a submitted report version SECAS withholds from SEC Parties, with its reason, and
  the Operations Group decision that covered it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.Enum('incident', 'timeline_entry', 'exclusion_proposal', 'report_version',
                                    name='target', native_enum=False, length=20), nullable=False),
        sa.Column('timeline_entry_id', sa.Integer(), nullable=True),
        sa.Column('exclusion_proposal_id', sa.Integer(), nullable=True),
        sa.Column('report_version_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage', sa.String(length=20), nullable=False),
        sa.Column('storage_key', sa.String(length=300), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_by_name', sa.String(length=254), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_attachment_incident_id_incident'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['timeline_entry_id'], ['timeline_entry.id'],
                                name=op.f('fk_attachment_timeline_entry_id_timeline_entry'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['exclusion_proposal_id'], ['exclusion_proposal.id'],
                                name=op.f('fk_attachment_exclusion_proposal_id_exclusion_proposal'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_version_id'], ['report_version.id'],
                                name=op.f('fk_attachment_report_version_id_report_version'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_attachment_uploaded_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment')),
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index('ix_attachment_incident', ['incident_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_timeline_entry_id'), ['timeline_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_exclusion_proposal_id'), ['exclusion_proposal_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_report_version_id'), ['report_version_id'], unique=False)
    op.create_table(
        'attachment_content',
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id'],
                                name=op.f('fk_attachment_content_attachment_id_attachment'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('attachment_id', name=op.f('pk_attachment_content')),
    )
    op.create_table(
        'redaction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_version_id', sa.Integer(), nullable=False),
        sa.Column('passage', sa.Text(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=True),
        sa.Column('marked_by_id', sa.Integer(), nullable=True),
        sa.Column('marked_by_name', sa.String(length=254), nullable=False),
        sa.Column('marked_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_version_id'], ['report_version.id'],
                                name=op.f('fk_redaction_report_version_id_report_version'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_redaction_decision_id_decision'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['marked_by_id'], ['user.id'], name=op.f('fk_redaction_marked_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redaction')),
    )
    with op.batch_alter_table('redaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redaction_report_version_id'), ['report_version_id'], unique=False)


def downgrade():
    with op.batch_alter_table('redaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redaction_report_version_id'))
    op.drop_table('redaction')
    op.drop_table('attachment_content')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_report_version_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_exclusion_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_timeline_entry_id'))
        batch_op.drop_index('ix_attachment_incident')
    op.drop_table('attachment')

"""Decisions bound to the register: the meeting they were taken at, the classification agreed, withdrawn versions.

- A meeting has a kind (main or reporting; main for the meetings already entered).
- A decision names its meeting in the register (matched by reference for the decisions already recorded; a
  decision at a meeting never entered keeps its minuted reference and date, with no link) and, when the group
  agreed publication, the classification agreed (GREEN or WHITE; left empty on the decisions already recorded,
  which were published under the classification SECAS chose).
- A report version the DCC withdrew before the group decided on it says when and by whom.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('main', 'reporting', name='meetingkind', native_enum=False,
                                                      length=10), server_default='main', nullable=False))
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('classification', sa.Enum('RED', 'AMBER', 'GREEN', 'WHITE',
                                                                name='classification', native_enum=False, length=8),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_decision_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_foreign_key('fk_decision_meeting_id_meeting', 'meeting', ['meeting_id'], ['id'],
                                    ondelete='SET NULL')
    op.execute("UPDATE decision SET meeting_id = (SELECT meeting.id FROM meeting WHERE meeting.reference = "
               "decision.meeting)")
    with op.batch_alter_table('report_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_name', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('report_version', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_by_name')
        batch_op.drop_column('withdrawn_at')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_constraint('fk_decision_meeting_id_meeting', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_decision_meeting_id'))
        batch_op.drop_column('classification')
        batch_op.drop_column('meeting_id')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('kind')

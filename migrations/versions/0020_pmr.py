"""A month's PMR figures as reported: a frozen copy per recording, with when and by whom.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 10:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pmr_recorded_month',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_name', sa.String(length=254), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_pmr_recorded_month_recorded_by_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pmr_recorded_month'))
    )
    with op.batch_alter_table('pmr_recorded_month', schema=None) as batch_op:
        batch_op.create_index('ix_pmr_recorded_month_month', ['month', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('pmr_recorded_month', schema=None) as batch_op:
        batch_op.drop_index('ix_pmr_recorded_month_month')
    op.drop_table('pmr_recorded_month')

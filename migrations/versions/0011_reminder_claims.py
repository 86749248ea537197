"""Reminders: a token for each claim, and the day a wait began so the text is written when it is sent.

- ``claim_token``: each claim of a reminder by a sweep carries its own token; the sweep confirms the row still
  holds it before sending and records the send only where it does, so a row another sweep has since claimed is
  never sent twice.
- ``since_on``: the day a wait began (an exclusion proposal), for "pending N working days" counted to the day
  the reminder is sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('since_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_column('since_on')
        batch_op.drop_column('claim_token')

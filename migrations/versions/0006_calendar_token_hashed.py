"""Calendar feed links: the database keeps a hash of each link's token, as it does of API tokens.

A copy of the database (a backup, a restored dump) no longer gives anyone a working feed link. Existing links keep
working: each stored token is replaced by its hash. Downgrading cannot bring the tokens back: the links stop
working and their owners make new ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:00:00

"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

user = sa.table('user', sa.column('id', sa.Integer), sa.column('calendar_token', sa.String),
                sa.column('calendar_token_hash', sa.String))


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_token_hash'), ['calendar_token_hash'])
    conn = op.get_bind()
    rows = conn.execute(sa.select(user.c.id, user.c.calendar_token).where(user.c.calendar_token.is_not(None)))
    for user_id, token in rows.all():
        conn.execute(sa.update(user).where(user.c.id == user_id).values(
            calendar_token_hash=hashlib.sha256(token.encode()).hexdigest()))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token'), type_='unique')
        batch_op.drop_column('calendar_token')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_token'), ['calendar_token'])
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token_hash'), type_='unique')
        batch_op.drop_column('calendar_token_hash')

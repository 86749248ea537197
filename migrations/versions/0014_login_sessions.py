"""Login sessions held on the server, and secrets waiting to be shown once.

The signed cookie now names a row of login_session by a random key (the table keeps its SHA-256); ending a
session deletes the row. The user's session_version, which the cookie used to carry, goes: every session from
before this revision ends, and people log in again. A just-issued API token or calendar link waits, sealed with
its session's key, in issued_secret until it is shown once. Downgrading drops both tables (everyone logs in again)
and gives every user a session_version far beyond any an earlier cookie carried, so those stay ended too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Versions counted up from 1, one step per password reset, role change or deactivation: none got this far.
ENDED_VERSION = 1_000_000


def upgrade():
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_login_session_user_id_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_session_key_hash'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)
    op.create_table('issued_secret',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login_session_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('sealed', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['login_session_id'], ['login_session.id'],
                            name=op.f('fk_issued_secret_login_session_id_login_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_secret')),
    sa.UniqueConstraint('login_session_id', 'purpose', name=op.f('uq_issued_secret_login_session_id'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_version')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default=str(ENDED_VERSION)))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('session_version', existing_type=sa.Integer(), server_default=None)
    op.drop_table('issued_secret')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')

"""The audit trail refuses TRUNCATE on PostgreSQL; requests sent twice take effect once.

- A statement trigger refuses TRUNCATE on audit_entry (TRUNCATE fires no row triggers).
- idempotency_key keeps the first answer to each user's Idempotency-Key (API) or form submission key, unique per
  user and key, written in the same transaction as the change it answers.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# The statements the model installs after create_all; copied here so this revision never changes when the model
# module does. The function is the one revision 0001 created.
NO_TRUNCATE = ("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()")
DROP_NO_TRUNCATE = "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry"

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NO_TRUNCATE)
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=2000), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_idempotency_key_user_id_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_key_user_id')
    )


def downgrade():
    op.drop_table('idempotency_key')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_NO_TRUNCATE)

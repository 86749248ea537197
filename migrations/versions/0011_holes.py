"""The audit trail refuses TRUNCATE on PostgreSQL too (a statement trigger: TRUNCATE fires no row triggers).

Revision ID: 0011_holes
Revises: 0010
Create Date: 2026-12-03 08:00:00

"""
from alembic import op

# The statements the model installs after create_all; copied here so this revision never changes when the model
# module does. The function is the one revision 0001 created.
NO_TRUNCATE = ("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()")
DROP_NO_TRUNCATE = "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry"

# revision identifiers, used by Alembic.
revision = '0011_holes'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NO_TRUNCATE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_NO_TRUNCATE)

"""Full-text search: an FTS5 table per searched table on SQLite (kept in step by triggers), a GIN index on an
English tsvector expression per searched table on PostgreSQL. Existing rows are indexed on SQLite as the tables
are created; PostgreSQL builds its indexes from the rows.

The statements are those ``create_all`` runs (``incidents.search.ddl``), so a migrated database and a test database
hold the same indexes.

Revision ID: 0016_search
Revises: 0015
Create Date: 2026-12-03 10:50:00

"""
from alembic import op

from incidents.search import ddl

# revision identifiers, used by Alembic.
revision = '0016_search'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in ddl.create_statements(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in ddl.drop_statements(dialect):
        op.execute(statement)

"""Full-text search, and what each import from the ITSM wrote.

Full-text search: an FTS5 table per searched table on SQLite (kept in step by triggers), a GIN index on an
English tsvector expression per searched table on PostgreSQL. Existing rows are indexed on SQLite as the tables
are created; PostgreSQL builds its indexes from the rows.

The statements are those ``create_all`` runs (``incidents.search.ddl``), so a migrated database and a test database
hold the same indexes.

The import record keeps, per imported incident, the values the last import left it with (the next import compares
with them to tell a field edited in the tool).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:50:00

"""
import sqlalchemy as sa
from alembic import op

from incidents.search import ddl

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.Column('imported_by_name', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_import_record_incident_id_incident'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_record')),
        sa.UniqueConstraint('incident_id', name=op.f('uq_import_record_incident_id')),
    )
    dialect = op.get_bind().dialect.name
    for statement in ddl.create_statements(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in ddl.drop_statements(dialect):
        op.execute(statement)
    op.drop_table('import_record')

"""Drop the change counter: nothing is kept between requests any more, so no process needs to know what changed.

Downgrading recreates the table with its one row at 0; processes of the older code then start afresh (a lower
counter drops whatever they kept).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('data_version')


def downgrade():
    version = op.create_table('data_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version'))
    )
    op.bulk_insert(version, [{'id': 1, 'counter': 0}])

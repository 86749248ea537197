"""Keep the PDF of a frozen report version: drawn once, served from the table afterwards.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_pdf',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['report_version_id'], ['report_version.id'],
                            name=op.f('fk_report_pdf_report_version_id_report_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_pdf')),
    sa.UniqueConstraint('report_version_id', 'kind', name='uq_report_pdf_version_kind')
    )


def downgrade():
    op.drop_table('report_pdf')

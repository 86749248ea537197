"""Minutes as written: action references as the group writes them, TBC target dates, principles' basis.

- An action keeps its reference as minuted (OPSG 75/ CONF01) and gains reference_key, the same reference in
  capitals with no space around the slash, which lookups and uniqueness use (the references already entered are
  their own keys: the earlier pattern allowed neither lower case nor a space after the slash), and the letter that
  may follow the meeting number (OPSG 38x/02).
- An action's target date may be empty: TBC. So may either side of a target-date revision.
- A principle's wording gains its basis (what it rests on), versioned with it; the default principles already
  entered, still in their first wording, get the basis the defaults name.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The bases of the default principles as this revision first wrote them (a migration never imports the app).
DEFAULT_BASES = {
    'third-party-infrastructure': (
        "The DCC's reasoning for excluding INC000001001905, as minuted at OPSG_97 (26 June 2023): restoration "
        "outside the control of the DCC and its Service Providers, a national carrier over which it had no "
        "commercial leverage. OPSG asked the DCC for its principles (action OPSG 97/04)."),
    'planned-maintenance': (
        "Assumed: neither the OPSG_97 minutes nor the public SEC material found states it; confirm it against "
        "the Incident Management Policy and the DCC's principles (action OPSG 97/04)."),
    'user-action': (
        "Assumed: neither the OPSG_97 minutes nor the public SEC material found states it; confirm it against "
        "the Incident Management Policy and the DCC's principles (action OPSG 97/04)."),
    'force-majeure': (
        "Services Force Majeure (SEC Section M3); since SECMP0043 (2019) the DCC may also apply to the SEC Panel "
        "for relief for OPR Exceptional Events outside its control, modelled on it."),
}


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('meeting_suffix', sa.String(length=4), server_default='', nullable=False))
    op.execute("UPDATE action SET reference_key = reference")
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.alter_column('reference_key', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_action_reference_key'), ['reference_key'])
        batch_op.alter_column('target_on', existing_type=sa.Date(), nullable=True)
        batch_op.alter_column('original_target_on', existing_type=sa.Date(), nullable=True)
    with op.batch_alter_table('action_target_revision', schema=None) as batch_op:
        batch_op.alter_column('previous_on', existing_type=sa.Date(), nullable=True)
        batch_op.alter_column('target_on', existing_type=sa.Date(), nullable=True)
    with op.batch_alter_table('principle_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sa.Text(), server_default='', nullable=False))
    principle = sa.table('exclusion_principle', sa.column('id', sa.Integer), sa.column('code', sa.String))
    version = sa.table('principle_version', sa.column('principle_id', sa.Integer), sa.column('number', sa.Integer),
                       sa.column('basis', sa.Text))
    for code, basis in DEFAULT_BASES.items():
        op.execute(version.update().where(
            version.c.number == 1,
            version.c.principle_id.in_(sa.select(principle.c.id).where(principle.c.code == code))).values(basis=basis))


def downgrade():
    with op.batch_alter_table('principle_version', schema=None) as batch_op:
        batch_op.drop_column('basis')
    # An earlier revision has no TBC: a target still to be confirmed falls back to the date the action was raised.
    op.execute("UPDATE action_target_revision SET previous_on = (SELECT action.raised_on FROM action WHERE "
               "action.id = action_target_revision.action_id) WHERE previous_on IS NULL")
    op.execute("UPDATE action_target_revision SET target_on = (SELECT action.raised_on FROM action WHERE "
               "action.id = action_target_revision.action_id) WHERE target_on IS NULL")
    op.execute("UPDATE action SET target_on = raised_on WHERE target_on IS NULL")
    op.execute("UPDATE action SET original_target_on = raised_on WHERE original_target_on IS NULL")
    with op.batch_alter_table('action_target_revision', schema=None) as batch_op:
        batch_op.alter_column('target_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('previous_on', existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.alter_column('original_target_on', existing_type=sa.Date(), nullable=False)
        batch_op.alter_column('target_on', existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_action_reference_key'), type_='unique')
        batch_op.drop_column('meeting_suffix')
        batch_op.drop_column('reference_key')

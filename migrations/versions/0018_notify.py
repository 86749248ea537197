"""Review events and who hears of them: notifications (per person, with preferences and follows), webhooks.

- review_event: one row per state change of a review, written with the change.
- notification: one email owed to one person about one event, claimed and sent once by the sweep.
- notification_preference, incident_follow: how each person hears of each kind, and what they follow.
- webhook, webhook_delivery: endpoints an administrator registered, and each event owed to each.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 10:16:02.967676

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('is_internal', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('payload_format', sa.Enum('standard', 'chat', name='payloadformat', native_enum=False, length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_name', sa.String(length=254), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook'))
    )
    op.create_table('notification_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('exclusion_proposed', 'information_requested', 'information_answered', 'exclusion_agreed', 'exclusion_disagreed', 'report_submitted', 'report_withdrawn', 'decision_recorded', 'report_published', name='eventkind', native_enum=False, length=30), nullable=False),
    sa.Column('delivery', sa.Enum('immediate', 'digest', 'none', name='delivery', native_enum=False, length=12), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_preference_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference')),
    sa.UniqueConstraint('user_id', 'kind', name='uq_notification_preference_user_kind')
    )
    op.create_table('incident_follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_follow_incident_id_incident'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_incident_follow_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_follow')),
    sa.UniqueConstraint('user_id', 'incident_id', name='uq_incident_follow_user_incident')
    )
    with op.batch_alter_table('incident_follow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_follow_incident_id'), ['incident_id'], unique=False)

    op.create_table('review_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('exclusion_proposed', 'information_requested', 'information_answered', 'exclusion_agreed', 'exclusion_disagreed', 'report_submitted', 'report_withdrawn', 'decision_recorded', 'report_published', name='eventkind', native_enum=False, length=30), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=254), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_review_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_review_event_incident_id_incident'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_event'))
    )
    with op.batch_alter_table('review_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_event_incident_id'), ['incident_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('delivery', sa.Enum('immediate', 'digest', 'none', name='delivery', native_enum=False, length=12), nullable=False),
    sa.Column('batch_key', sa.String(length=80), nullable=False),
    sa.Column('send_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', 'cancelled', name='sendstate', native_enum=False, length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['review_event.id'], name=op.f('fk_notification_event_id_review_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_notification_event_user')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_batch_key', ['batch_key'], unique=False)
        batch_op.create_index('ix_notification_state_send_at', ['state', 'send_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', 'cancelled', name='sendstate', native_enum=False, length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('give_up_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['review_event.id'], name=op.f('fk_webhook_delivery_event_id_review_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], name=op.f('fk_webhook_delivery_webhook_id_webhook'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('message_id', name=op.f('uq_webhook_delivery_message_id')),
    sa.UniqueConstraint('webhook_id', 'event_id', name='uq_webhook_delivery_webhook_event')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_state_next', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_webhook_id'), ['webhook_id'], unique=False)



def downgrade():
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_webhook_id'))
        batch_op.drop_index('ix_webhook_delivery_state_next')

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))
        batch_op.drop_index('ix_notification_state_send_at')
        batch_op.drop_index('ix_notification_batch_key')

    op.drop_table('notification')
    with op.batch_alter_table('review_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_event_incident_id'))

    op.drop_table('review_event')
    with op.batch_alter_table('incident_follow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_follow_incident_id'))

    op.drop_table('incident_follow')
    op.drop_table('notification_preference')
    op.drop_table('webhook')

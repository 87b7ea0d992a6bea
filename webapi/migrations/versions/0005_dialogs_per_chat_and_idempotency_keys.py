"""dialogs per chat and idempotency keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A Telegram user's dialogs are kept per chat (their private chat and each group apart): dialogs
get the chat's id, which for dialogs written before is the user's private chat (its id is the
user's). Questions get the key their client sent, stored at most once.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN = sa.text('ended_at IS NULL')


def upgrade():
    op.add_column('dialogs', sa.Column('chat_id', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE dialogs SET chat_id = (SELECT telegram_id FROM users WHERE users.id = dialogs.user_id)"
        " WHERE user_id IS NOT NULL"
    )
    op.drop_index('uq_dialogs_open_user', table_name='dialogs')
    op.create_index(
        'uq_dialogs_open_user',
        'dialogs',
        ['user_id', 'chat_id', 'channel', 'mode'],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.add_column('messages', sa.Column('idempotency_key', sa.String(length=128), nullable=True))
    op.create_index('uq_messages_idempotency_key', 'messages', ['idempotency_key'], unique=True)


def downgrade():
    op.drop_index('uq_messages_idempotency_key', table_name='messages')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('idempotency_key')
    op.drop_index('uq_dialogs_open_user', table_name='dialogs')
    # Several chats' open dialogs of one user would collide once the chat is gone: keep the
    # newest open one of each user, end the others.
    op.execute(
        "UPDATE dialogs SET ended_at = started_at WHERE ended_at IS NULL AND user_id IS NOT NULL"
        " AND id NOT IN (SELECT max(id) FROM dialogs WHERE ended_at IS NULL"
        " AND user_id IS NOT NULL GROUP BY user_id, channel, mode)"
    )
    with op.batch_alter_table('dialogs', schema=None) as batch_op:
        batch_op.drop_column('chat_id')
    op.create_index(
        'uq_dialogs_open_user',
        'dialogs',
        ['user_id', 'channel', 'mode'],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

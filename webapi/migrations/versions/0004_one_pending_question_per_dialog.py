"""one pending question per dialog

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A dialog's questions are answered one at a time: at most one question per dialog is pending.
Databases written before this revision may hold several (concurrent messages, or questions cut
by a crash and never settled); all but the newest of each dialog are marked interrupted first,
as the server would have marked them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING_QUESTION = "role = 'user' AND status = 'pending'"


def upgrade():
    op.execute(
        "UPDATE messages SET status = 'error', error_code = 'interrupted'"
        f" WHERE {PENDING_QUESTION} AND id NOT IN ("
        f"SELECT max(id) FROM messages WHERE {PENDING_QUESTION} GROUP BY dialog_id)"
    )
    op.create_index(
        'uq_messages_pending_question',
        'messages',
        ['dialog_id'],
        unique=True,
        sqlite_where=sa.text(PENDING_QUESTION),
        postgresql_where=sa.text(PENDING_QUESTION),
    )


def downgrade():
    op.drop_index('uq_messages_pending_question', table_name='messages')

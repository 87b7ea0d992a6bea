"""a user's dialogs index carries message_count

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

The top users' dialogs in a window are those started in it that have a message: with
message_count in the index, they are counted from the index alone (PostgreSQL read a heavy
user's every dialog row for it: ten milliseconds a dashboard at a million messages). The index
keeps serving the foreign key's cascade. Dialog updates already change an indexed column
(the listing index holds message_count), so no update that was cheap becomes dearer.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_dialogs_user_id_started_at_count", "dialogs", ["user_id", "started_at", "message_count"]
    )
    op.drop_index("ix_dialogs_user_id_started_at", table_name="dialogs")


def downgrade():
    op.create_index("ix_dialogs_user_id_started_at", "dialogs", ["user_id", "started_at"])
    op.drop_index("ix_dialogs_user_id_started_at_count", table_name="dialogs")

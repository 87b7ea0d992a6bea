"""dialogs by message count

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

The dashboard's dialog list sorted by message count reads, for a window that is a large share
of all dialogs (a month of three), the dialogs in that order and stops at the page, instead of
reading and sorting every dialog of the window. Dialog updates already change indexed columns,
so they stay as costly as they were but for this index's entry.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_dialogs_message_count", "dialogs", ["message_count", "id"])


def downgrade():
    op.drop_index("ix_dialogs_message_count", table_name="dialogs")

"""console dialogs and Insights results

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A console account keeps any number of dialogs and continues whichever it opens, addressed by
id: the one-open-dialog-per-account index goes (its dialogs stay indexed by account). An
Insights answer keeps its result (columns, rows, truncated flag, chart) beside its SQL, so a
reopened dialog shows it again.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")


def upgrade():
    op.drop_index("uq_dialogs_open_account", table_name="dialogs")
    op.add_column("messages", sa.Column("result", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("messages", "result")
    # Back to one open dialog per account, channel and mode: the newest of each stays open.
    op.execute(
        "UPDATE dialogs SET ended_at = started_at WHERE account_id IS NOT NULL"
        " AND ended_at IS NULL AND id NOT IN (SELECT max(id) FROM dialogs"
        " WHERE account_id IS NOT NULL AND ended_at IS NULL GROUP BY account_id, channel, mode)"
    )
    op.create_index(
        "uq_dialogs_open_account",
        "dialogs",
        ["account_id", "channel", "mode"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

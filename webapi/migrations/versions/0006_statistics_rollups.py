"""statistics rollups

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The dashboard's figures, kept exact on every write by triggers (webapi/stats/rollups.py):
counts per quarter hour, hour and day, the users active in each quarter hour and day,
histograms of latency and time to first token per hour and day, and per dialog and user the
derived columns; indexes for the percentiles and the dialog list. Filled from the rows stored.
"""

from alembic import op
import sqlalchemy as sa

from webapi.stats import rollups


# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ANSWERS = sa.text("role = 'assistant' AND status = 'ok'")


def upgrade():
    op.add_column("users", sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_users_first_message_at", "users", ["first_message_at"])
    op.add_column(
        "dialogs", sa.Column("message_count", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "dialogs", sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_dialogs_last_message_at", "dialogs", ["last_message_at"])
    op.create_index("ix_dialogs_user_id_started_at", "dialogs", ["user_id", "started_at"])
    op.drop_index("ix_dialogs_user_id", table_name="dialogs")
    op.create_index(
        "ix_dialogs_started_at_listing",
        "dialogs",
        ["started_at", "message_count", "last_message_at", "id"],
    )
    op.create_index(
        "ix_messages_answers_created_at",
        "messages",
        ["created_at", "latency_ms", "ttft_ms"],
        sqlite_where=ANSWERS,
        postgresql_where=ANSWERS,
    )
    for column in ("latency_ms", "ttft_ms"):
        op.create_index(
            f"ix_messages_answers_{column}",
            "messages",
            [column, "created_at"],
            sqlite_where=ANSWERS,
            postgresql_where=ANSWERS,
        )
    op.create_table(
        "stats_counts",
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in rollups.COUNTERS),
        sa.PrimaryKeyConstraint("unit", "slot", "channel", "role", name=op.f("pk_stats_counts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "stats_users",
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("prev_slot", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("unit", "slot", "user_id", name=op.f("pk_stats_users")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_stats_users_unit_user_id_slot", "stats_users", ["unit", "user_id", "slot"]
    )
    op.create_index(
        "ix_stats_users_unit_slot_prev_slot", "stats_users", ["unit", "slot", "prev_slot"]
    )
    op.create_table(
        "stats_latency",
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("metric", sa.SmallInteger(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("bin", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("unit", "metric", "slot", "bin", name=op.f("pk_stats_latency")),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    rollups.rebuild(connection)
    rollups.install(connection)


def downgrade():
    rollups.uninstall(op.get_bind())
    op.drop_table("stats_latency")
    op.drop_index("ix_stats_users_unit_slot_prev_slot", table_name="stats_users")
    op.drop_index("ix_stats_users_unit_user_id_slot", table_name="stats_users")
    op.drop_table("stats_users")
    op.drop_table("stats_counts")
    for column in ("ttft_ms", "latency_ms"):
        op.drop_index(f"ix_messages_answers_{column}", table_name="messages")
    op.drop_index("ix_messages_answers_created_at", table_name="messages")
    op.drop_index("ix_dialogs_started_at_listing", table_name="dialogs")
    op.drop_index("ix_dialogs_last_message_at", table_name="dialogs")
    op.create_index("ix_dialogs_user_id", "dialogs", ["user_id"])
    op.drop_index("ix_dialogs_user_id_started_at", table_name="dialogs")
    with op.batch_alter_table("dialogs", schema=None) as batch_op:
        batch_op.drop_column("last_message_at")
        batch_op.drop_column("message_count")
    op.drop_index("ix_users_first_message_at", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("first_message_at")

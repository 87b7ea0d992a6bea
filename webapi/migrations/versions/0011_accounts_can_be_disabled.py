"""accounts can be disabled

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

An admin disables a console account rather than deleting it (its dialogs stay, its name stays
taken): a disabled account cannot sign in, and its sessions end.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("accounts", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("disabled_at")

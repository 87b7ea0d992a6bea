"""statistics triggers reinstalled

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

The triggers of 0006 as webapi/stats/rollups.py now writes them. The first ones, on settling
an answer, cleared emptied histogram rows by unit and slot alone, which the key (unit, metric,
slot, bin) cannot find without reading every row of the unit: a second per answer at a million
messages. Now by the bin's whole key, with fewer statements per write (one per table for all
units; a settled question's counts in one; on PostgreSQL, whole blocks skipped for the rows they
do not concern). The figures stored do not change.
"""

from alembic import op

from webapi.stats import rollups


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    rollups.uninstall(connection)
    rollups.install(connection)


def downgrade():
    # The triggers of this code serve 0006's tables as well: nothing to undo.
    pass

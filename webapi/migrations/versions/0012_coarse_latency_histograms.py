"""coarse latency histograms

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

The histograms of latency and time to first token again in coarse bins (metric + 2, eight bins
each; webapi/stats/rollups.py), so that a percentile reads a fraction of the rows: the triggers
that keep them, and the coarse rows of the data there is, summed from the fine ones.
"""

from alembic import op

from webapi.stats import rollups

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    rollups.uninstall(connection)
    rollups.install(connection)
    coarse = rollups.COARSE
    connection.exec_driver_sql(f"DELETE FROM stats_latency WHERE metric >= {coarse}")
    connection.exec_driver_sql(
        "INSERT INTO stats_latency (unit, metric, slot, bin, n)"
        f" SELECT unit, metric + {coarse}, slot, bin / {rollups.COARSE_BINS}, SUM(n)"
        f" FROM stats_latency WHERE metric < {coarse}"
        f" GROUP BY unit, metric, slot, bin / {rollups.COARSE_BINS}"
    )


def downgrade():
    # The coarse rows go; this code's triggers (the only ones it knows) stay, as in 0007.
    op.get_bind().exec_driver_sql(f"DELETE FROM stats_latency WHERE metric >= {rollups.COARSE}")

"""Dashboard statistics: rollups kept exact by the database, the windows asked for, the figures
computed from both, demo data and retention."""

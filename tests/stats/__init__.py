"""Dashboard statistics: figures against a reference, the API, rollups, demo data."""

"""Print webapi's OpenAPI document (GET /api/v1/openapi.json) without starting a server.

Run it with the project's Python (webapi's dependencies and tests/ importable):
    python frontend/scripts/openapi_document.py --output /tmp/openapi.json   (or to stdout)
It builds the app on a throwaway SQLite database and reads the document through Flask's test
client, so `npm run types` / `npm run types:check` can compare against exactly what webapi serves.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import dispose_app, make_app, make_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="write it here instead of to stdout")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # migrations and startup talk; only the document matters
    with tempfile.TemporaryDirectory(prefix="openapi-") as scratch:
        database_url = f"sqlite:///{Path(scratch) / 'openapi.db'}"
        app = make_app(make_settings(database_url, "http://127.0.0.1:9/v1"))
        try:
            response = app.test_client().get("/api/v1/openapi.json")
        finally:
            dispose_app(app)
    if response.status_code != 200:
        print(f"GET /api/v1/openapi.json answered {response.status_code}", file=sys.stderr)
        return 1
    text = json.dumps(response.get_json(), indent=2, sort_keys=True) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

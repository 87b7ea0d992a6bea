"""A seeded database per dialect, shared by the Insights tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.doubles.fake_llm import FakeLLM
from tests.insights.support import Seeded, seeded_database
from tests.support import scratch_postgres_database


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_llm_server: FakeLLM,
) -> Iterator[Seeded]:
    """A migrated database with seed-demo data (demo console accounts included), and the
    engine Insights queries run on."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('insights') / 'aidd.db'}"
        yield from seeded_database(url, "sqlite", fake_llm_server)
    else:
        with scratch_postgres_database(request.getfixturevalue("postgres_admin")) as url:
            yield from seeded_database(url, "postgres", fake_llm_server)

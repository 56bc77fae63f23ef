"""Shared fixtures: researchers created through the same paths users take."""

import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

# Torch on one thread in each test process (set before torch is first imported): the suite
# runs two processes on two cores, and OpenMP threads waiting for each other while the other
# process holds a core made small models many times slower (a W&P test: 90 s -> 1 s).
# Results do not depend on the thread count beyond float rounding.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on SQLite (CI runs them against PostgreSQL)."""
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    if on_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (.ci/run does)")
    for item in items:
        if "requires_postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_var(settings, tmp_path):
    """Give each test its own model store and media folder."""
    settings.MODEL_STORE = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_researcher(db):
    def make(username: str = "alice"):
        return get_user_model().objects.create_user(
            username=username, password="a-long-test-password"
        )

    return make


@pytest.fixture
def researcher(make_researcher):
    return make_researcher("alice")


@pytest.fixture
def api(researcher):
    client = APIClient()
    client.force_authenticate(researcher)
    return client

"""On PostgreSQL the participant path's statements are prepared once per connection, unless
ELEPHANT_DB_PREPARED_STATEMENTS turns that off (behind a pooler that cannot keep them)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studies import selectors
from studies.models import Participant

ROOT = Path(__file__).resolve().parents[1]
SHOW_OPTIONS = (
    "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS']))"
)


def options(**env: str) -> str:
    """The default database's OPTIONS keys as a fresh process reads them from ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ELEP"))}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW_OPTIONS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


POSTGRES = "postgres://nobody@127.0.0.1:1/none"  # settings never connect


def test_postgresql_prepares_statements_unless_told_not_to():
    assert "prepare_threshold" in options(DATABASE_URL=POSTGRES)
    # Only the compiled queries bind on the server: everything else keeps client-side
    # binding, which has no limit on the number of values in a statement.
    assert "server_side_binding" not in options(DATABASE_URL=POSTGRES)
    off = options(DATABASE_URL=POSTGRES, ELEPHANT_DB_PREPARED_STATEMENTS="off")
    assert "prepare_threshold" not in off


def test_sqlite_is_left_as_it_was():
    assert "prepare_threshold" not in options(DATABASE_URL="sqlite:///:memory:")


@pytest.mark.django_db
def test_a_participant_read_is_prepared_after_five_runs():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (.ci/run does)")
    for _ in range(6):
        assert selectors.participant_by_uid(uuid.uuid4()) is None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE %s AND statement LIKE %s",
            ['%FROM "studies_participant"%', '%"studies_participant"."uid" = $1%'],
        )
        (prepared,) = cursor.fetchone()
    assert prepared == 1


@pytest.mark.django_db
def test_other_queries_are_not_prepared():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (.ci/run does)")
    for _ in range(6):
        assert Participant.objects.filter(uid=uuid.uuid4()).first() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        (prepared,) = cursor.fetchone()
    assert prepared == 0


@pytest.mark.django_db
def test_logged_queries_show_their_sql():
    """A logged query needs its text; psycopg keeps none for a prepared statement's run."""
    with CaptureQueriesContext(connection) as captured:
        for _ in range(7):
            assert selectors.participant_by_uid(uuid.uuid4()) is None
    assert len(captured.captured_queries) == 7
    assert all("studies_participant" in q["sql"] for q in captured.captured_queries)

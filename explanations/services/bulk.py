"""Fast, idempotent bulk writes of explanation rows.

Half a million rows must go in at tens of thousands per second, so this bypasses model
instances: PostgreSQL gets ``COPY`` into a temporary table and one ``INSERT ... ON
CONFLICT DO UPDATE``; SQLite gets ``executemany`` of the same upsert. Either way a row
for an existing (model, instance, method) replaces its scores instead of duplicating.
"""

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone

from explanations.io.problems import ProblemCollector
from explanations.models import Explanation

from .progress import Progress, no_progress

ExplanationRow = tuple[
    int, int, list[float], dict[str, Any]
]  # instance pk, method pk, scores, params
CHUNK = 20000
STREAM_BATCH = 5000
COLUMNS = (
    "model_id",
    "instance_id",
    "method_id",
    "scores",
    "parameters",
    "extras",
    "target_label",
    "compute_seconds",
    "created_at",
    "updated_at",
)
COPY_NULL = "\\N"  # NULL in COPY's text format


def explanation_rows_copy_stream(
    *,
    model_id: int,
    rows: Iterable[ExplanationRow],
    problems: ProblemCollector,
    progress: Progress = no_progress,
) -> int:
    """COPY rows into PostgreSQL while they are still being read; return the count.

    For a model with no explanations yet (no row can conflict). Python parses and
    validates on one core while the server ingests on the other. When the reader has
    recorded any problem, the COPY is aborted by raising :class:`ImportFailed`, and the
    caller's transaction rolls everything back: still all or nothing.
    """
    table = Explanation._meta.db_table
    stamp = timezone.now().isoformat()
    written = 0
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, STREAM_BATCH)):
            if problems.problems:
                continue  # keep reading to report every bad line, write nothing more
            copy.write(_copy_lines(model_id, batch, 0, len(batch), None, None, None, stamp))
            written += len(batch)
            progress(written, written, "explanations")
        problems.raise_if_any()
    return written


def explanation_rows_upsert(
    *,
    model_id: int,
    rows: Sequence[ExplanationRow],
    extras: Sequence[dict[str, Any]] | None = None,
    target_labels: Sequence[int | None] | None = None,
    compute_seconds: Sequence[float | None] | None = None,
    progress: Progress = no_progress,
) -> int:
    """Insert or replace explanation rows of model ``model_id``; return the number written.

    Must run inside a transaction (the caller owns atomicity).
    """
    if not rows:
        return 0
    table = Explanation._meta.db_table
    now = timezone.now()
    columns = COLUMNS
    update = ("scores", "parameters", "extras", "target_label", "compute_seconds", "updated_at")
    conflict = "(model_id, instance_id, method_id)"
    set_clause = ", ".join(f"{c} = excluded.{c}" for c in update)
    total = len(rows)
    stamp = now.isoformat()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A model with no explanations yet cannot conflict: COPY straight into the
            # table. Otherwise COPY into a temporary table ("ord" keeps file order, so an
            # export lists rows in the order they came in) and upsert from it.
            direct = not Explanation.objects.filter(model_id=model_id).exists()
            target = table if direct else "explanation_import"
            if not direct:
                cursor.execute(
                    f"CREATE TEMP TABLE explanation_import (LIKE {table}) ON COMMIT DROP"
                )
                cursor.execute("ALTER TABLE explanation_import ALTER COLUMN id DROP NOT NULL")
                cursor.execute("ALTER TABLE explanation_import ADD COLUMN ord bigserial")
            for begin in range(0, total, CHUNK):
                with cursor.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(
                        _copy_lines(
                            model_id,
                            rows,
                            begin,
                            min(begin + CHUNK, total),
                            extras,
                            target_labels,
                            compute_seconds,
                            stamp,
                        )
                    )
                progress(min(begin + CHUNK, total), total, "explanations")
            if not direct:
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(columns)} FROM explanation_import ORDER BY ord "
                    f"ON CONFLICT {conflict} DO UPDATE SET {set_clause}"
                )
                cursor.execute("DROP TABLE explanation_import")
        else:
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(columns))}) "
                f"ON CONFLICT {conflict} DO UPDATE SET {set_clause}"
            )
            for begin in range(0, total, CHUNK):
                cursor.executemany(
                    sql,
                    [
                        (
                            model_id,
                            instance_id,
                            method_id,
                            orjson.dumps(scores).decode(),
                            orjson.dumps(params).decode(),
                            orjson.dumps(extras[k] if extras else {}).decode(),
                            target_labels[k] if target_labels else None,
                            compute_seconds[k] if compute_seconds else None,
                            now,
                            now,
                        )
                        for k, (instance_id, method_id, scores, params) in enumerate(
                            rows[begin : begin + CHUNK], start=begin
                        )
                    ],
                )
                progress(min(begin + CHUNK, total), total, "explanations")
    return total


def _copy_text(value: Any) -> str:
    """Return ``value`` as JSON in COPY's text format (backslashes doubled).

    orjson escapes control characters inside strings, so the JSON has no raw tab or
    newline that would end a COPY field or row.
    """
    return orjson.dumps(value).decode().replace("\\", "\\\\")


def _copy_lines(
    model_id: int,
    rows: Sequence[ExplanationRow],
    begin: int,
    end: int,
    extras: Sequence[dict[str, Any]] | None,
    target_labels: Sequence[int | None] | None,
    compute_seconds: Sequence[float | None] | None,
    stamp: str,
) -> bytes:
    """Return rows ``begin:end`` as COPY text-format lines (much faster than write_row).

    Scores are numbers only, so their JSON needs no escaping; params and extras do.
    """
    lines = []
    for k in range(begin, end):
        instance_id, method_id, scores, params = rows[k]
        label = target_labels[k] if target_labels else None
        seconds = compute_seconds[k] if compute_seconds else None
        lines.append(
            f"{model_id}\t{instance_id}\t{method_id}\t{orjson.dumps(scores).decode()}\t"
            f"{_copy_text(params)}\t{_copy_text(extras[k] if extras else {})}\t"
            f"{COPY_NULL if label is None else int(label)}\t"
            f"{COPY_NULL if seconds is None else repr(float(seconds))}\t"
            f"{stamp}\t{stamp}\n"
        )
    return "".join(lines).encode()

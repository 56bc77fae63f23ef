"""Querysets compiled to SQL once per process, for the participant path.

Django compiles a queryset to SQL on every evaluation. On the participant path that work
was most of each request: reading a participant with their study and assignment cost
1.8 ms of CPU, of which the database's part (executing and fetching) was 0.2 ms. The
queries there are the same on every request but for one or two values (a uid, a primary
key), so :class:`CompiledQuery` compiles each once per process and database and then only
executes the SQL with the new values, building the model instances (with their
``select_related`` objects and annotations) as the ORM itself does.

The queryset stays declared with the ORM; only its compilation is kept. Values are found
in the compiled parameters by planting sentinels in the queryset's arguments, so the
queryset may use the argument anywhere a value goes (a filter, a subquery). The tests
check that each compiled query returns what its queryset returns, on both databases.

On PostgreSQL (unless ELEPHANT_DB_PREPARED_STATEMENTS is off) a compiled query also runs
as a prepared statement once it has run a few times on a connection (see :func:`_cursor`).
"""

import contextlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
_sentinels = itertools.count(1)


def _sentinel(kind: type) -> Any:
    """Return a value of ``kind`` that no real argument has (and no other sentinel)."""
    k = next(_sentinels)
    if kind is int:
        return -(2**62) - k
    if kind is uuid.UUID:
        return uuid.UUID(int=(0x5E47_1E11 << 96) + k)
    if kind is str:
        return f"\x01compiled-query-sentinel-{k}\x01"
    raise TypeError(f"CompiledQuery arguments are int, uuid.UUID or str, not {kind.__name__}")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, bool], ...]  # (position in params, argument, as hex)
    model: type[Model]
    init_list: tuple[str, ...]
    model_fields: slice
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]  # (column, functions, expression)
    select: Any
    klass_info: dict[str, Any]
    annotation_col_map: dict[str, int]
    for_update: bool


def prepares_statements(connection: BaseDatabaseWrapper) -> bool:
    """Whether compiled queries run as prepared statements on ``connection`` (PostgreSQL with
    ``prepare_threshold`` in its OPTIONS, see ELEPHANT_DB_PREPARED_STATEMENTS)."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    )


@contextlib.contextmanager
def _cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """Django's cursor; on PostgreSQL preparing statements, one that binds on the server.

    Only a cursor that sends its parameters apart from the SQL gets its statements
    prepared (after ``prepare_threshold`` runs), so PostgreSQL stops parsing and planning
    the compiled queries. Every other query keeps Django's default client-side binding:
    server-side binding would cap each statement at 65,535 parameters, which a long
    ``__in`` list (a large dataset's instances) exceeds. The cursor is made by Django
    (health check, time zone, query logging) with the server-binding class swapped in.
    """
    if not prepares_statements(connection) or connection.queries_logged:
        # Logged (DEBUG, or a test capturing queries): Django's cursor, as psycopg keeps no
        # text of a prepared statement's run for the log to show.
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,  # psycopg 3's, the one this project installs
    )

    connection.ensure_connection()
    raw = connection.connection
    default = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor
    try:
        cursor = connection.cursor()  # a failed health check reconnects: a default cursor
    finally:
        raw.cursor_factory = default
    with cursor:
        yield cursor


class CompiledQuery(Generic[M]):
    """``build(**arguments)`` compiled once per process and database alias; call it for rows.

    ``arguments`` names each argument's type (int, uuid.UUID or str). The queryset must
    not depend on anything but those arguments (no ``now()`` computed in Python, no
    values read from settings at call time), and should end in a slice or an ordering
    that makes its first row the one wanted.
    """

    def __init__(self, build: Callable[..., "QuerySet[M]"], **arguments: type) -> None:
        self.build = build
        self.arguments = arguments
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        sentinels = {name: _sentinel(kind) for name, kind in self.arguments.items()}
        queryset = self.build(**sentinels)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = []
        for position, value in enumerate(params):
            for name, sentinel in sentinels.items():
                if value == sentinel:
                    slots.append((position, name, False))
                elif isinstance(sentinel, uuid.UUID) and value == sentinel.hex:
                    slots.append((position, name, True))  # no native uuid column (SQLite)
        missing = set(sentinels) - {name for _, name, _ in slots}
        if missing:
            raise TypeError(f"CompiledQuery: the queryset does not use {sorted(missing)}")
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        model_fields = slice(fields[0], fields[-1] + 1)
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            model=klass_info["model"],
            init_list=tuple(f[0].target.attname for f in select[model_fields]),
            model_fields=model_fields,
            converters=tuple(
                (column, tuple(functions), expression)
                for column, (functions, expression) in compiler.get_converters(
                    [s[0] for s in select[: compiler.col_count]]
                ).items()
            ),
            select=select,
            klass_info=klass_info,
            annotation_col_map=dict(compiler.annotation_col_map or {}),
            for_update=queryset.query.select_for_update,
        )

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Iterator[M]:
        """Run the compiled SQL with ``values`` and yield the model instances."""
        if set(values) != set(self.arguments):
            raise TypeError(f"expected arguments {sorted(self.arguments)}, got {sorted(values)}")
        connection = connections[using]
        compiled = self._compiled.get(connection.vendor + ":" + using)
        if compiled is None:
            compiled = self._compiled[connection.vendor + ":" + using] = self._compile(using)
        if (
            compiled.for_update
            and connection.features.has_select_for_update
            and connection.get_autocommit()
        ):  # refused as the ORM refuses it
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, name, as_hex in compiled.slots:
            value = values[name]
            params[position] = value.hex if as_hex else value
        with _cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        populators = get_related_populators(compiled.klass_info, compiled.select, using)
        for row in map(list, fetched):
            for column, functions, expression in compiled.converters:
                for function in functions:  # e.g. JSON decoding, as the ORM converts
                    row[column] = function(row[column], expression, connection)
            obj = compiled.model.from_db(
                using, list(compiled.init_list), row[compiled.model_fields]
            )
            for populator in populators:
                populator.populate(row, obj)
            for name, column in compiled.annotation_col_map.items():
                setattr(obj, name, row[column])
            yield obj  # type: ignore[misc]

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> M | None:
        return next(self.rows(using, **values), None)

    def all(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[M]:
        return list(self.rows(using, **values))

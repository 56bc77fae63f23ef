"""Feed a CSV file to Python's reader line by line, and name the cell it refuses.

Python's ``csv`` module stops at a cell longer than ``csv.field_size_limit()`` (131,072
characters by default) with an error naming neither the line nor the column; the reader's
own ``line_num`` does not count the line it failed on. :class:`FedLines` counts the lines
handed to the reader, and :func:`overlong_cell` finds the column, so the problem can
name both.
"""

import csv

from .limits import CSV_FIELD_LIMIT


def cell_limit_for(max_chars: int | None) -> int:
    """Return the longest CSV cell read: Python's default, or ``max_chars`` if larger.

    The module's limit is process-wide, but it is only ever raised here: the whole file is
    in memory already, so a larger cell costs nothing more, and the per-text limit still
    applies to the cell once read.
    """
    wanted = max(CSV_FIELD_LIMIT, max_chars or 0)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)
    return csv.field_size_limit()


class FedLines:
    """The file's ``(line number, text)`` lines as the CSV reader takes them, counted."""

    def __init__(self, lines: list[tuple[int, str]]) -> None:
        self.lines = lines
        self.taken = 0

    def __iter__(self) -> "FedLines":
        return self

    def __next__(self) -> str:
        if self.taken == len(self.lines):
            raise StopIteration
        self.taken += 1
        return self.lines[self.taken - 1][1] + "\n"


def csv_error_message(exc: csv.Error, record_text: str, cell_limit: int) -> str:
    """Return the message for a record the CSV reader refused."""
    if overlong_cell(record_text, cell_limit) is not None:
        return (
            f"cell is longer than {cell_limit:,} characters, the most a CSV cell may hold here; "
            "expected a shorter text (texts are limited by ELEPHANT_MAX_CHARS_PER_TEXT)"
        )
    return f"cannot read this CSV record ({exc}); expected comma-separated cells"


def overlong_cell(record_text: str, limit: int) -> int | None:
    """Return the index of the first cell of a CSV record longer than ``limit``, or None.

    A small scan of Python's default (excel) dialect: commas outside quotes separate
    cells, a quote opens a quoted cell only at the cell's start, ``""`` inside quotes is one
    character. It runs only after the CSV reader has refused the record.
    """
    column, length, quoted, started, i = 0, 0, False, False, 0
    while i < len(record_text):
        char = record_text[i]
        if quoted and char == '"':
            if record_text[i + 1 : i + 2] == '"':
                length += 1
                i += 1
            else:
                quoted = False
        elif char == '"' and not started:
            quoted = started = True
        elif char == "," and not quoted:
            column, length, started = column + 1, 0, False
        else:
            length += 1
            started = True
        if length > limit:
            return column
        i += 1
    return None

"""Import problems that name the file, line and field, and what was expected."""

from dataclasses import dataclass
from pathlib import Path

MAX_REPORTED = 20


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f", line {self.line}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class ImportFailed(Exception):  # noqa: N818  (reads as "the import failed")
    """Raised when a file cannot be imported; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:MAX_REPORTED])
        more = len(problems) - MAX_REPORTED
        if more > 0:
            shown += f"\n  ... and {more} more problem(s)"
        super().__init__(f"Nothing was imported; {len(problems)} problem(s):\n{shown}")


class ProblemCollector:
    """Collect problems while reading a file, stopping after too many."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.problems: list[Problem] = []

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, field, message))

    @property
    def full(self) -> bool:
        return len(self.problems) > MAX_REPORTED

    def raise_if_any(self) -> None:
        if self.problems:
            raise ImportFailed(self.problems)

"""A progress callback type shared by services and commands."""

from collections.abc import Callable

# progress(done, total, what): called as work advances; commands draw a bar, jobs store it.
Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, what: str) -> None:
    """Ignore progress."""

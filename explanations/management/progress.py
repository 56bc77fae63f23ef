"""A tqdm progress bar for management commands, fed by a service's progress callback."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from explanations.services.progress import Progress


@contextmanager
def progress_bar(stream: Any, *, disable: bool = False) -> Iterator[Progress]:
    """Yield a progress callback that draws one bar per stage (``what``)."""
    bars: dict[str, tqdm] = {}

    def update(done: int, total: int, what: str) -> None:
        bar = bars.get(what)
        if bar is None:
            bar = bars[what] = tqdm(
                total=total, desc=what, unit="", file=stream, disable=disable, leave=True
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()

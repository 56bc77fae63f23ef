"""A tqdm progress bar for management commands, fed by a service's progress callback."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from explanations.services.progress import Progress


@contextmanager
def progress_bar(stream: Any, *, disable: bool = False) -> Iterator[Progress]:
    """Yield a progress callback that draws one bar per run of a stage (``what``).

    Stages run one after another and a label comes back for each model or dataset
    ("epochs", "instances"): a bar starts when the label changes or its count goes back,
    so its elapsed time, rate and estimate cover that run only, not the stages before.
    """
    current: dict[str, Any] = {"what": None, "bar": None}

    def update(done: int, total: int, what: str) -> None:
        bar = current["bar"]
        if bar is None or what != current["what"] or done < bar.n:
            if bar is not None:
                bar.close()
            bar = tqdm(
                total=total,
                desc=what,
                # no rate: a stage that reports its rows in one jump showed 25631857.78/s
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                "[{elapsed}<{remaining}]",
                file=stream,
                disable=disable,
                leave=True,
            )
            current.update(what=what, bar=bar)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        if current["bar"] is not None:
            current["bar"].close()

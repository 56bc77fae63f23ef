"""Hold the analysis builds a browser test's pages queue, and run them in the test.

The live server shares the test's connection to the in-memory test database; a build in a
thread of its own would open another, and SQLite's shared cache fails a read beside a
write ("database table is locked"). So the builds the pages queue are held here and run
by the test, on the shared connection, at the moment it chooses.
"""

import pytest

from analysis.services import jobs


def hold_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Return the list the ids of queued builds are put in, instead of being run."""
    held: list[int] = []
    monkeypatch.setattr(jobs, "_dispatch", held.append)
    return held


def run_held(held: list[int]) -> int:
    """Run every held build (as the background thread would); return how many ran."""
    ran = 0
    while held:
        jobs.analysis_build_run(held.pop(0))
        ran += 1
    return ran

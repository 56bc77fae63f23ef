"""The command-line progress bar: one bar per run of a stage, timed from its own start."""

import io
import re

import pytest

from explanations.management.progress import progress_bar


class Clock:
    """A settable clock for tqdm's timer."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("tqdm.std.time", fake)  # tqdm reads its clock at creation
    return fake


def _lines(stream: io.StringIO) -> list[str]:
    return [line.strip() for line in re.split(r"[\r\n]+", stream.getvalue()) if line.strip()]


def test_a_stage_that_comes_back_gets_a_new_bar_timed_from_its_own_start(clock: Clock) -> None:
    stream = io.StringIO()
    with progress_bar(stream) as progress:
        progress(0, 10, "epochs")
        progress(10, 10, "epochs")
        clock.now += 300  # five minutes of other stages
        progress(0, 500, "predictions")
        progress(500, 500, "predictions")
        progress(0, 10, "epochs")  # the next model's training
        clock.now += 2
        progress(1, 10, "epochs")
    last = _lines(stream)[-1]
    assert last.startswith("epochs: ")
    assert "1/10 [00:02<00:18]" in last, last


def test_no_rate_is_printed_for_a_stage_reported_in_one_jump(clock: Clock) -> None:
    stream = io.StringIO()
    with progress_bar(stream) as progress:
        clock.now += 1e-6
        progress(440, 440, "instances")
    text = stream.getvalue()
    assert "440/440" in text
    assert "/s" not in text

"""Former home of participant simulation, kept so existing imports keep working.

Simulated participants now live in :mod:`analysis.services.simulated`, and each study
type's answerer in its analysis module (``analysis/types/<type>.py``). :data:`ANSWERERS`
is a read-only view of those answerers by study type name.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from analysis.services.simulated import (
    SIMULATED_PREFIX,
    participants_simulate,
    simulated_label,
    simulated_participant_ids,
)
from analysis.types.base import SimulatedPerson, registered
from studies.types.base import TrialView

Answerer = Callable[[SimulatedPerson, TrialView, int], Any]


class _Answerers(Mapping[str, Answerer]):
    """The registered answerers, by study type name (always current)."""

    def __getitem__(self, name: str) -> Answerer:
        return registered()[name].answer

    def __iter__(self) -> Iterator[str]:
        return iter(registered())

    def __len__(self) -> int:
        return len(registered())


ANSWERERS: Mapping[str, Answerer] = _Answerers()

__all__ = [
    "ANSWERERS",
    "SIMULATED_PREFIX",
    "participants_simulate",
    "simulated_label",
    "simulated_participant_ids",
]

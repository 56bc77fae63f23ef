"""Turn the included rows of the responses table into the arrays ``analysis.compute`` takes.

Nothing here computes a statistic: it numbers participants, items (instances),
explanations and methods, and reads each explanation's frozen faithfulness scores.
Pairwise choices are built in :mod:`analysis.services.preferences`, their one user: their
type comes with Bradley-Terry (scipy.stats), which the pages importing this module for
its names need not load.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.compute.answers import RatingAnswers
from analysis.compute.arrays import FloatArray

from .tables import Column, Table

CONTROL_METHOD = "random"
# Conditions without any explanation, the baselines of the task studies.
NO_HIGHLIGHTS = "no highlights"
NO_EXPLANATION = "no explanation"


def control_status(methods: Sequence[str], what: str) -> dict[str, Any]:
    """Return a section's ``control`` entry: the control method and whether the study has it.

    ``note`` says what its absence means (``what`` completes "..., so"); None when present.
    """
    present = CONTROL_METHOD in methods
    return {
        "method": CONTROL_METHOD,
        "in_study": present,
        "note": None
        if present
        else f"the {CONTROL_METHOD!r} control method is not part of this study, so {what}",
    }


def method_order(methods: Sequence[str]) -> tuple[str, ...]:
    """Return method names sorted by name with the ``random`` control last."""
    return tuple(sorted(set(methods), key=lambda m: (m == CONTROL_METHOD, m)))


def headline_metrics(table: Table, kind: str = "faithfulness", side: str = "") -> list[Column]:
    """Return the table's score columns of ``kind`` for whole metrics (no bin, no pair)."""
    return [
        c
        for c in table.columns
        if c.kind == kind
        and c.metric is not None
        and c.side == side
        and "@" not in c.metric
        and ":" not in c.metric
    ]


def included_rows(table: Table) -> list[dict[str, Any]]:
    """Return the rows that enter the analysis (test trials of participants not excluded)."""
    return [row for row in table.rows if row["included"]]


@dataclass(frozen=True)
class RatingData:
    """Ratings as :class:`RatingAnswers` plus what each explanation index stands for."""

    answers: RatingAnswers
    explanation_ids: tuple[int, ...]
    instance_ids: tuple[int, ...]
    faithfulness: dict[str, FloatArray]
    columns: dict[str, str]


def rating_data(
    rows: Sequence[dict[str, Any]], metrics: Sequence[Column], methods: tuple[str, ...]
) -> RatingData:
    """Return the ratings of ``rows`` (one per answer) with per-explanation faithfulness."""
    index: dict[int, int] = {}
    explanation_ids: list[int] = []
    instance_ids: list[int] = []
    explanation_method: list[int] = []
    faithfulness: dict[str, list[float]] = {c.metric or c.name: [] for c in metrics}
    participant, explanation, rating = [], [], []
    for row in rows:
        key = row["explanation_id"]
        if key not in index:
            index[key] = len(explanation_ids)
            explanation_ids.append(key)
            instance_ids.append(row["instance_id"])
            explanation_method.append(methods.index(row["method"]))
            for c in metrics:
                value = row.get(c.name)
                faithfulness[c.metric or c.name].append(np.nan if value is None else float(value))
        participant.append(row["participant_id"])
        explanation.append(index[key])
        rating.append(float(row["rating"]))
    answers = RatingAnswers(
        participant=np.asarray(participant, dtype=np.int64),
        explanation=np.asarray(explanation, dtype=np.int64),
        rating=np.asarray(rating, dtype=np.float64),
        explanation_item=np.asarray(instance_ids, dtype=np.int64),
        explanation_method=np.asarray(explanation_method, dtype=np.int64),
        method_names=methods,
    )
    return RatingData(
        answers=answers,
        explanation_ids=tuple(explanation_ids),
        instance_ids=tuple(instance_ids),
        faithfulness={name: np.asarray(v, dtype=np.float64) for name, v in faithfulness.items()},
        columns={c.metric or c.name: c.name for c in metrics},
    )

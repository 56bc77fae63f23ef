"""The shapes other parts rely on, declared once (as Zulip keeps its in ``zerver/lib/types.py``).

* :class:`Snapshot`: what a study item shows, frozen on ``StudyItem.frozen`` when the study
  goes live (built by :func:`studies.services.snapshots.snapshots_build`);
* :class:`ShownExplanation`: one explanation a trial shows, inside a snapshot;
* :class:`AnswerColumn`: one column a type's :meth:`~studies.types.base.StudyType.record`
  returns, declared on the type (``StudyType.answer_columns``) with what it means;
* :class:`ResponseRow`: one answer as :func:`studies.selectors.responses_for_analysis`
  returns it, the type's recorded columns under their own key, ``record``.

Column naming: the explanation method a trial showed is always ``method`` (one explanation)
or ``<side>_method`` (two, e.g. ``left_method``), and its id ``explanation_id`` /
``<side>_explanation_id``, whatever the type.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

METHOD_COLUMN = "method"
EXPLANATION_ID_COLUMN = "explanation_id"


class MetricScore(TypedDict):
    """One faithfulness or plausibility ``Score`` of a shown explanation, frozen."""

    metric: str
    kind: str
    value: float | None
    parameters: dict[str, Any]


class ShownExplanation(TypedDict):
    """One explanation a trial shows: its token scores and every score it had when frozen.

    ``id`` is None for the synthetic explanations built from a human rationale
    (``human_rationale``/``anti_rationale``, which carry their ``annotator``); ``parameters``
    are the explanation's own parameters (IG steps, baseline, pooling, ...) at that moment.
    """

    id: int | None
    method: str
    scores: list[float]
    parameters: dict[str, Any]
    metric_scores: list[MetricScore]
    annotator: NotRequired[str]


class SnapshotInstance(TypedDict):
    id: int
    external_id: str
    text: str
    context: str
    tokens: list[str]


class SnapshotPrediction(TypedDict):
    label: int
    label_name: str
    probabilities: list[float]


class Snapshot(TypedDict):
    """What one study item shows, frozen with the item (types may add their own keys)."""

    instance: SnapshotInstance
    label_names: list[str]
    prediction: SnapshotPrediction
    gold_label: int | None
    gold_label_name: str | None
    outcome: str
    explanations: list[ShownExplanation]
    frozen_at: str
    counterfactual: NotRequired[dict[str, Any]]


@dataclass(frozen=True)
class AnswerColumn:
    """One declared answer column: its name and what it means (written to the codebook)."""

    name: str
    description: str


# Columns several types record, named and described the same way for every type.
COMMON_ANSWER_COLUMNS: tuple[AnswerColumn, ...] = (
    AnswerColumn(METHOD_COLUMN, "explanation method shown (never shown to the participant)"),
    AnswerColumn(EXPLANATION_ID_COLUMN, "id of the explanation shown (explanations.Explanation)"),
    AnswerColumn("comment", "the participant's optional comment (empty if none)"),
)


class ShownRow(TypedDict):
    """One explanation a trial showed, as the analysis joins it: its frozen scores by metric."""

    method: str
    explanation_id: int | None
    scores: dict[str, dict[str, Any]]


class ResponseRow(TypedDict):
    """One answer with what its trial showed (``studies.selectors.responses_for_analysis``)."""

    study_id: int
    study_type: str
    participant_id: int
    source: str
    external_id: str
    assignment_status: str
    excluded: list[str]
    list_index: int
    condition: str
    trial_id: int
    trial_position: int
    role: str
    phase: str
    item_id: int
    instance_id: int
    instance_external_id: str
    outcome: str
    methods: list[str]
    payload: dict[str, Any]
    value: Any
    record: dict[str, Any]
    passed: bool | None
    shown_at: datetime | None
    answered_at: datetime
    server_duration_ms: int | None
    client_duration_ms: int | None
    shown: list[ShownRow]

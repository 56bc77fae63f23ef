"""A study's answers as three tidy tables, every column named by what it measures.

* ``responses``: one row per answer (practice, attention checks and gold included,
  marked by ``role``), joined with the frozen scores of what the trial showed;
* ``participants``: one row per participant, with exclusions and questionnaire answers;
* ``items``: one row per explanation shown by each study item, with its frozen scores.

Score columns carry their kind: ``faithfulness__comprehensiveness_aopc`` (computed on
the model), ``plausibility__rationale_f1`` (measured against people's rationales). A
metric's parameter becomes part of the name so R's ``read.csv`` keeps it unchanged:
``comprehensiveness@5`` -> ``comprehensiveness_at_5``, ``agreement_tau:gradient`` ->
``agreement_tau_with_gradient``. When a trial shows two explanations the columns end in
the side (``__left``, ``__right``). Every column has a :class:`Column` description, from
which the codebook is written.
"""

import json
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studies.contracts import COMMON_ANSWER_COLUMNS, ResponseRow
from studies.models import Exclusion, Participant, Study, StudyItem
from studies.selectors import questionnaire_rows, responses_for_analysis
from studies.types.base import get_type

ANALYSED_ROLE = StudyItem.Role.TEST
SCORE_KINDS = ("faithfulness", "plausibility")


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, kind (what it measures) and meaning."""

    name: str
    kind: str
    description: str
    metric: str | None = None
    side: str = ""


@dataclass(frozen=True)
class Table:
    """Rows of plain values (str, int, float, bool or None) with their columns."""

    name: str
    description: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class StudyTables:
    """The three tables of one study."""

    responses: Table
    participants: Table
    items: Table


def metric_slug(metric: str) -> str:
    """Return ``metric`` as a syntactic column-name part (``@`` -> ``_at_``, ``:`` -> ``_with_``)."""
    slug = metric.replace("@", "_at_").replace(":", "_with_")
    return re.sub(r"[^A-Za-z0-9_]", "_", slug)


def score_column(kind: str, metric: str, side: str = "") -> str:
    """Return the column name of one frozen score, e.g. ``faithfulness__tau_loo__left``."""
    return f"{kind}__{metric_slug(metric)}" + (f"__{side}" if side else "")


def _side_names(record: Mapping[str, Any], n_shown: int) -> list[str]:
    """Return the column suffix of each shown explanation, in the frozen order."""
    if n_shown == 1:
        return [""]
    if "left_explanation_id" in record and n_shown == 2:
        return ["left", "right"]
    return [f"e{k + 1}" for k in range(n_shown)]


def _shown_scores(
    shown: Sequence[Mapping[str, Any]], sides: Sequence[str], record: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, tuple[str, str, str]]]:
    """Return the score cells of one answer and, per column, (kind, metric, side)."""
    cells: dict[str, Any] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    by_id = {e["explanation_id"]: e for e in shown}
    ordered: list[tuple[str, Mapping[str, Any]]] = []
    if sides == ["left", "right"]:
        for side in sides:
            found = by_id.get(record.get(f"{side}_explanation_id"))
            ordered.append((side, found or shown[sides.index(side)]))
    else:
        ordered = list(zip(sides, shown, strict=True))
    for side, explanation in ordered:
        for metric, score in explanation["scores"].items():
            kind = score["kind"] if score["kind"] in SCORE_KINDS else "faithfulness"
            name = score_column(kind, metric, side)
            cells[name] = score["value"]
            meta[name] = (kind, metric, side)
    return cells, meta


def _score_columns(meta: Mapping[str, tuple[str, str, str]], what: str) -> list[Column]:
    columns = []
    for name in sorted(meta, key=lambda n: (SCORE_KINDS.index(meta[n][0]), n)):
        kind, metric, side = meta[name]
        where = f" of the explanation shown on the {side}" if side in ("left", "right") else ""
        if side.startswith("e"):
            where = f" of explanation {side[1:]} shown"
        measured = "computed on the model" if kind == "faithfulness" else "measured against people"
        columns.append(
            Column(
                name,
                kind,
                f"{kind} score {metric!r}{where} ({measured}), frozen when the study went live; "
                f"NA if undefined or not computed{what}",
                metric,
                side,
            )
        )
    return columns


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


RESPONSE_ID_COLUMNS: tuple[Column, ...] = (
    Column("study_id", "id", "id of the study"),
    Column("study_type", "design", "study type"),
    Column("participant_id", "id", "id of the participant (pseudonymous; no platform ids)"),
    Column(
        "simulated", "marker", "TRUE if the participant was simulated by the software, not a person"
    ),
    Column("source", "design", "how the participant entered: prolific, mturk, invited, anonymous"),
    Column(
        "assignment_status",
        "design",
        "completed, or active/released/returned when the participant did not finish",
    ),
    Column("excluded", "exclusion", "TRUE if the participant has an active exclusion"),
    Column(
        "exclusion_rules", "exclusion", "active exclusion rules, separated by ';' (empty if none)"
    ),
    Column(
        "included",
        "exclusion",
        "TRUE if the answer enters the analysis (a test trial by a participant not excluded)",
    ),
    Column("list_index", "design", "Latin-square list the participant took"),
    Column("condition", "design", "condition of the list"),
    Column("trial_id", "id", "id of the trial"),
    Column("trial_position", "design", "0-based position of the trial in the participant's order"),
    Column("role", "design", "practice, test, attention_check or gold"),
    Column("phase", "design", "phase of the study type (main, practice, pre, post, ...)"),
    Column("item_id", "id", "id of the study item (an instance with the explanation(s) shown)"),
    Column("instance_id", "id", "id of the instance (text) shown"),
    Column("instance_external_id", "id", "the dataset's own id of the instance"),
    Column("outcome", "design", "model outcome on the instance: TP/FP/TN/FN or correct/wrong"),
    Column("methods", "design", "methods shown, in frozen order, separated by '|'"),
)
RESPONSE_TAIL_COLUMNS: tuple[Column, ...] = (
    Column(
        "passed",
        "answer",
        "attention checks and gold: TRUE if the answer met the rule; NA for other trials",
    ),
    Column("answer_json", "answer", "the stored answer, as JSON"),
    Column("shown_at", "timing", "when the trial was first shown (ISO 8601, UTC)"),
    Column("answered_at", "timing", "when the answer was stored (ISO 8601, UTC)"),
    Column("server_duration_ms", "timing", "milliseconds from showing to answering (server clock)"),
    Column("client_duration_ms", "timing", "milliseconds measured in the browser (NA if not sent)"),
)


def _responses(study: Study, simulated: set[int], raw: list[ResponseRow]) -> Table:
    """Return the responses table built from ``responses_for_analysis`` rows."""
    known = {c.name for c in (*RESPONSE_ID_COLUMNS, *RESPONSE_TAIL_COLUMNS)}
    answer_names: list[str] = []
    score_meta: dict[str, tuple[str, str, str]] = {}
    rows = []
    for r in raw:
        # The type's recorded columns; they never shadow the fixed ones.
        record = {k: v for k, v in r["record"].items() if k not in known}
        for name in record:
            if name not in answer_names:
                answer_names.append(name)
        sides = _side_names(record, len(r["shown"])) if r["shown"] else []
        cells, meta = _shown_scores(r["shown"], sides, record) if r["shown"] else ({}, {})
        score_meta.update(meta)
        excluded = bool(r["excluded"])
        rows.append(
            {
                "study_id": r["study_id"],
                "study_type": r["study_type"],
                "participant_id": r["participant_id"],
                "simulated": r["participant_id"] in simulated,
                "source": r["source"],
                "assignment_status": r["assignment_status"],
                "excluded": excluded,
                "exclusion_rules": ";".join(r["excluded"]),
                "included": r["role"] == ANALYSED_ROLE and not excluded,
                "list_index": r["list_index"],
                "condition": r["condition"],
                "trial_id": r["trial_id"],
                "trial_position": r["trial_position"],
                "role": r["role"],
                "phase": r["phase"],
                "item_id": r["item_id"],
                "instance_id": r["instance_id"],
                "instance_external_id": r["instance_external_id"],
                "outcome": r["outcome"],
                "methods": "|".join(r["methods"]),
                **record,
                "passed": r["passed"],
                "answer_json": json.dumps(r["value"], sort_keys=True),
                "shown_at": _iso(r["shown_at"]),
                "answered_at": _iso(r["answered_at"]),
                "server_duration_ms": r["server_duration_ms"],
                "client_duration_ms": r["client_duration_ms"],
                **cells,
            }
        )
    declared = {
        c.name: c.description
        for c in (*COMMON_ANSWER_COLUMNS, *get_type(study.study_type).answer_columns)
    }
    answer_columns = [
        Column(
            name,
            "answer",
            declared.get(name, f"answer column {name!r} recorded by the {study.study_type} type"),
        )
        for name in answer_names
    ]
    columns = (
        *RESPONSE_ID_COLUMNS,
        *answer_columns,
        *RESPONSE_TAIL_COLUMNS,
        *_score_columns(score_meta, " for the answer's trial"),
    )
    names = [c.name for c in columns]
    for row in rows:
        for name in names:
            row.setdefault(name, None)
    return Table(
        "responses",
        "one row per answer (every role), joined with the frozen scores of what was shown",
        tuple(columns),
        [{name: row[name] for name in names} for row in rows],
    )


def _participants(study: Study, simulated: set[int], responses: Table) -> Table:
    by_participant: dict[int, list[dict[str, Any]]] = {}
    for row in responses.rows:
        by_participant.setdefault(row["participant_id"], []).append(row)
    active: dict[int, list[tuple[str, str]]] = {}
    for pid, rule, reason in Exclusion.objects.filter(
        study=study, revoked_at__isnull=True
    ).values_list("participant_id", "rule", "reason"):
        active.setdefault(pid, []).append((rule, reason))
    questions: dict[int, dict[str, Any]] = {}
    keys: list[str] = []
    for answer in questionnaire_rows(study):
        key = f"questionnaire__{metric_slug(answer['key'])}"
        if key not in keys:
            keys.append(key)
        questions.setdefault(answer["participant_id"], {})[key] = answer["value"]
    rows = []
    for p in (
        Participant.objects.filter(study=study)
        .select_related("assignment__study_list__condition")
        .order_by("pk")
    ):
        answers = by_participant.get(p.pk, [])
        checks = [a for a in answers if a["passed"] is not None]
        times = [
            a["server_duration_ms"] / 1000
            for a in answers
            if a["server_duration_ms"] is not None and a["role"] != "practice"
        ]
        assignment = getattr(p, "assignment", None)
        exclusions = sorted(active.get(p.pk, []))
        rows.append(
            {
                "participant_id": p.pk,
                "simulated": p.pk in simulated,
                "source": p.source,
                "status": p.status,
                "assignment_status": assignment.status if assignment else None,
                "list_index": assignment.study_list.index if assignment else None,
                "condition": assignment.study_list.condition.name if assignment else None,
                "entered_at": _iso(p.entered_at),
                "consented_at": _iso(p.consented_at),
                "completed_at": _iso(p.completed_at),
                "n_answers": len(answers),
                "n_test_answers": sum(a["role"] == ANALYSED_ROLE for a in answers),
                "n_checks": len(checks),
                "n_checks_failed": sum(a["passed"] is False for a in checks),
                "median_seconds_per_trial": round(statistics.median(times), 3) if times else None,
                "excluded": bool(exclusions),
                "exclusion_rules": ";".join(rule for rule, _ in exclusions),
                "exclusion_reasons": "; ".join(reason for _, reason in exclusions),
                **{key: questions.get(p.pk, {}).get(key) for key in keys},
            }
        )
    columns = (
        Column("participant_id", "id", "id of the participant (pseudonymous; no platform ids)"),
        Column("simulated", "marker", "TRUE if simulated by the software, not a person"),
        Column(
            "source", "design", "how the participant entered: prolific, mturk, invited, anonymous"
        ),
        Column("status", "design", "participant status (completed, returned, timed_out, ...)"),
        Column(
            "assignment_status", "design", "status of the participant's assignment (NA if none)"
        ),
        Column("list_index", "design", "Latin-square list taken (NA if none)"),
        Column("condition", "design", "condition of the list (NA if none)"),
        Column("entered_at", "timing", "when the participant arrived (ISO 8601, UTC)"),
        Column("consented_at", "timing", "when consent was given (NA if never)"),
        Column("completed_at", "timing", "when the study was completed (NA if not)"),
        Column("n_answers", "count", "answers given, every role"),
        Column("n_test_answers", "count", "answers to test trials"),
        Column("n_checks", "count", "attention checks and gold items answered"),
        Column("n_checks_failed", "count", "attention checks and gold items failed"),
        Column(
            "median_seconds_per_trial",
            "timing",
            "median seconds per non-practice trial (server clock; NA without timings)",
        ),
        Column("excluded", "exclusion", "TRUE if the participant has an active exclusion"),
        Column("exclusion_rules", "exclusion", "active exclusion rules, separated by ';'"),
        Column("exclusion_reasons", "exclusion", "the logged reason of each active exclusion"),
        *(
            Column(key, "questionnaire", f"post-study questionnaire answer to {key[15:]!r}")
            for key in keys
        ),
    )
    return Table("participants", "one row per participant", columns, rows)


def _items(study: Study) -> Table:
    score_meta: dict[str, tuple[str, str, str]] = {}
    rows = []
    for item in (
        StudyItem.objects.filter(study=study)
        .select_related("condition")
        .order_by("condition__position", "role", "position", "pk")
    ):
        frozen = item.frozen or {}
        prediction = frozen.get("prediction") or {}
        probabilities = prediction.get("probabilities") or []
        instance = frozen.get("instance") or {}
        for index, explanation in enumerate(frozen.get("explanations", [])):
            cells: dict[str, Any] = {}
            for score in explanation.get("metric_scores", []):
                kind = score["kind"] if score["kind"] in SCORE_KINDS else "faithfulness"
                name = score_column(kind, score["metric"])
                cells[name] = score["value"]
                score_meta[name] = (kind, score["metric"], "")
            rows.append(
                {
                    "item_id": item.pk,
                    "condition": item.condition.name,
                    "role": item.role,
                    "position": item.position,
                    "instance_id": item.instance_id,
                    "instance_external_id": instance.get("external_id"),
                    "text": instance.get("text"),
                    "gold_label": frozen.get("gold_label_name"),
                    "predicted_label": prediction.get("label_name"),
                    "predicted_probability": max(probabilities) if probabilities else None,
                    "outcome": item.outcome,
                    "shown_index": index,
                    "method": explanation.get("method"),
                    "explanation_id": explanation.get("id"),
                    "frozen_at": frozen.get("frozen_at"),
                    **cells,
                }
            )
    columns = (
        Column("item_id", "id", "id of the study item"),
        Column("condition", "design", "condition the item belongs to"),
        Column("role", "design", "practice, test, attention_check or gold"),
        Column("position", "design", "order of the item within its condition and role"),
        Column("instance_id", "id", "id of the instance"),
        Column("instance_external_id", "id", "the dataset's own id of the instance"),
        Column("text", "text", "the text shown (the explained text for pair tasks)"),
        Column("gold_label", "design", "gold label name (NA if none)"),
        Column("predicted_label", "design", "the model's predicted label name"),
        Column("predicted_probability", "design", "the model's probability of its predicted label"),
        Column("outcome", "design", "TP/FP/TN/FN or correct/wrong (empty without gold)"),
        Column("shown_index", "design", "0-based order of this explanation within the item"),
        Column(
            "method",
            "design",
            "explanation method (human_rationale/anti_rationale: synthetic, from a rationale)",
        ),
        Column("explanation_id", "id", "id of the explanation (NA for synthetic ones)"),
        Column("frozen_at", "timing", "when the item's content and scores were frozen"),
        *_score_columns(score_meta, ""),
    )
    names = [c.name for c in columns]
    return Table(
        "items",
        "one row per explanation shown by each study item, with its frozen scores",
        columns,
        [{name: row.get(name) for name in names} for row in rows],
    )


def study_tables(study: Study) -> StudyTables:
    """Return the study's tidy tables (read in a few queries)."""
    simulated = set(
        Participant.objects.filter(study=study, simulated=True).values_list("pk", flat=True)
    )
    responses = _responses(study, simulated, responses_for_analysis(study))
    return StudyTables(
        responses=responses,
        participants=_participants(study, simulated, responses),
        items=_items(study),
    )

"""What forward and counterfactual simulation share: phases, pairing, balance, the effect.

Simulation studies (Hase and Bansal 2020, "Evaluating Explainable AI: Which Algorithmic
Explanations Help Users Predict Model Behavior?", ACL) ask people to predict the *model's*
output; an answer is correct when it matches the model, whatever the gold label. The same
test items are asked before (``pre``) and after (``post``) the participant has seen
explanations, each time in a new random order, so each test item has a pre and a post
answer by the same person; the simulation effect is post accuracy minus pre accuracy
(computed by :func:`analysis.compute.simulation.simulation_effects`).

The condition is between-subject: one condition per chosen method and one control
condition without explanations (the variant ``()``). Test items must be balanced over
the model's outcomes in every list (equal TP/FP/TN/FN for binary tasks, equal correct and
wrong otherwise), which :meth:`SimulationType.extend_snapshots` checks before a preview or
launch. Attention checks ask for a named label and sit at their 1-based positions in the
sequence of pre then post test trials. After each post trial of a condition with
explanations comes a ``rating`` trial (optional): the explanation of that item and Hase and
Bansal's 7-point question "Does this explanation show me why the system thought what it did?".

Trial roles: ``test`` for pre/post predictions (the only ones the straight-lining rule
reads), ``attention_check``, ``learn`` for forward simulation's learning trials (its
practice items), ``practice`` for counterfactual simulation's practice round (first, in
the ``practice`` phase, like ``pre`` trials) and ``rating`` for the ratings.
"""

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from random import Random
from typing import Any, ClassVar

from django.core.exceptions import ValidationError

from studies.models import Study, StudyItem

from .answers import (
    clean_label,
    clean_scale,
    label_attention_check,
    label_choices,
    label_instruction,
    scale_points,
)
from .base import (
    AnswerColumn,
    ItemRef,
    Option,
    Snapshot,
    StudyType,
    TrialSpec,
    TrialView,
    explanation_view,
)

RATING_QUESTION = "Does this explanation show me why the system thought what it did?"
RATING_POINTS = 7
LEARN, RATING = "learn", "rating"


def balance_problem(outcomes: Sequence[str], n_labels: int) -> str | None:
    """Return why ``outcomes`` are not balanced (None when they are).

    Binary tasks need equal TP, FP, TN and FN; others equal correct and wrong.
    """
    if not outcomes or any(not o for o in outcomes):
        return "some test items have no gold label, so their outcome is unknown"
    expected = ("TP", "FP", "TN", "FN") if n_labels == 2 else ("correct", "wrong")
    counts = Counter(outcomes)
    if len({counts.get(o, 0) for o in expected}) != 1:
        shown = ", ".join(f"{counts.get(o, 0)} {o}" for o in expected)
        return f"it has {shown}; each must appear equally often"
    return None


def simulation_options(*, question: str, rate_by_default: bool) -> tuple[Option, ...]:
    """Return the design options every simulation type has: its question and the ratings."""
    return (
        Option("question", "question", str, question, max_length=300),
        Option(
            "rate_explanations",
            "After each post trial, rate the explanation (7 points)",
            bool,
            rate_by_default,
        ),
    )


class SimulationType(StudyType):
    """Base of the simulation types; subclasses draw their trials."""

    answer_columns = (AnswerColumn("rating", "the rating given (an integer on the study's scale)"),)
    learning: ClassVar[bool] = False  # forward simulation has learning phases
    explain_post: ClassVar[bool] = False  # counterfactual post trials show the explanation
    question: ClassVar[str] = "What will the model predict?"
    keyboard_help = "Press a number key to choose, then Enter to continue."

    # Design -----------------------------------------------------------------------------
    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        return [(m,) for m in methods] + [()]

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        return label_attention_check(rng)

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        raise ValidationError(
            {
                "gold_positions": (
                    f"{self.label} has no gold items: every test trial already has a known "
                    "answer (the model's output); use attention checks instead"
                )
            }
        )

    def extend_snapshots(
        self, *, study: Any, snapshots: dict[int, Snapshot], preview: bool
    ) -> None:
        """Refuse a within-subject design and lists whose test items are not balanced."""
        assert isinstance(study, Study)
        if study.condition_design != Study.ConditionDesign.BETWEEN:
            raise ValidationError(
                f"{self.label} compares conditions between subjects (each participant sees "
                "one method, or none as the control): choose the between-subject design"
            )
        if self.learning and study.practice_count < 1:
            raise ValidationError(
                f"{self.label} shows the practice items as learning examples: "
                "choose at least one practice item"
            )
        n_labels = len(study.model.label_names or study.dataset.label_names)
        for study_list in study.lists.select_related("condition").order_by("index"):
            outcomes = list(
                study_list.items.filter(role=StudyItem.Role.TEST).values_list("outcome", flat=True)
            )
            problem = balance_problem(outcomes, n_labels)
            if problem:
                raise ValidationError(
                    f"{self.label} needs the test items of every participant balanced over the "
                    f"model's outcomes, but list {study_list.index} ({study_list.condition.name or 'control'}) "
                    f"does not: {problem}. Choose a number of test items that is a multiple of "
                    f"{4 if n_labels == 2 else 2}, keep 'balance over outcomes' on, and leave "
                    "items per participant empty (or a multiple too)."
                )

    # Assignment -------------------------------------------------------------------------
    def build_trials(
        self,
        *,
        items: Sequence[ItemRef],
        options: Mapping[str, Any],
        attention_positions: Sequence[int],
        gold_positions: Sequence[int],
        rng: Random,
        list_payloads: Sequence[Mapping[str, Any]] = (),
    ) -> list[TrialSpec]:
        """Order: learn (or practice), pre, [learn again with explanations], post with ratings.

        The test items are shuffled separately for pre and post; attention checks are
        placed at their positions among the pre-then-post test trials.
        """
        by_role: dict[str, list[ItemRef]] = defaultdict(list)
        for item in sorted(items, key=lambda i: (i.role, i.position, i.id)):
            by_role[item.role].append(item)
        tests = by_role["test"]
        explained = any(item.methods for item in tests)
        sequence: list[tuple[ItemRef, str]] = []
        for phase in ("pre", "post"):
            order = list(tests)
            rng.shuffle(order)
            sequence += [(item, phase) for item in order]
        placed = sorted(zip(attention_positions, by_role["attention_check"], strict=False))
        for position, check in placed:
            at = min(max(position, 1) - 1, len(sequence))
            phase = sequence[at - 1][1] if at > 0 else "pre"
            sequence.insert(at, (check, phase))
        specs: list[TrialSpec] = []
        learn = by_role["practice"] if self.learning else []

        def learning(phase: str, explain: bool) -> None:
            order = list(learn)
            rng.shuffle(order)
            specs.extend(
                TrialSpec(item_id=i.id, role=LEARN, phase=phase, payload={"explain": explain})
                for i in order
            )

        learning("learn", False)
        if not self.learning:  # a plain practice round first
            specs.extend(
                TrialSpec(
                    item_id=i.id, role="practice", phase="practice", payload={"explain": False}
                )
                for i in by_role["practice"]
            )
        for k, (item, phase) in enumerate(sequence):
            if phase == "post" and (k == 0 or sequence[k - 1][1] == "pre"):
                learning("learn_explained", explained)
            explain = explained and phase == "post" and self.explain_post
            specs.append(
                TrialSpec(
                    item_id=item.id, role=item.role, phase=phase, payload={"explain": explain}
                )
            )
            if (
                phase == "post"
                and item.role == "test"
                and explained
                and options["rate_explanations"]
            ):
                specs.append(
                    TrialSpec(
                        item_id=item.id, role=RATING, phase="post_rating", payload={"explain": True}
                    )
                )
        return specs

    # Trial ------------------------------------------------------------------------------
    def explanation(self, view: TrialView) -> dict[str, Any] | None:
        """Return the explanation view of the item's (one) explanation, or None (control)."""
        explanations = view.snapshot["explanations"]
        if not explanations:
            return None
        return explanation_view(
            tokens=view.snapshot["instance"]["tokens"],
            scores=explanations[0]["scores"],
            label="Explanation",
            uid="expl",
            display=view.display,
        )

    def base_context(self, view: TrialView) -> dict[str, Any]:
        """Return what every trial of a simulation shows: phase, text, labels, instruction."""
        snap = view.snapshot
        return {
            "phase": view.phase,
            "kind": view.role if view.role in (LEARN, RATING) else "predict",
            "context_text": snap["instance"]["context"],
            "text": snap["instance"]["text"],
            "question": view.options["question"],
            "labels": label_choices(snap["label_names"]),
            "rating_question": RATING_QUESTION,
            "rating_points": scale_points(RATING_POINTS),
            "instruction": label_instruction(view.expected, snap["label_names"]),
        }

    def model_label(self, view: TrialView) -> int:
        """Return the model's output the participant must predict on this trial."""
        return int(view.snapshot["prediction"]["label"])

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        if view.role == LEARN:
            return {"seen": True}
        if view.role == RATING:
            return {
                "rating": clean_scale(data, "rating", RATING_POINTS, "a rating of the explanation")
            }
        return {"label": clean_label(data, view.snapshot["label_names"])}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if view.expected and "label" in view.expected:
            return bool(value["label"] == view.expected["label"])
        return None

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        explanations = view.snapshot["explanations"]
        method = explanations[0]["method"] if explanations else None
        common = {
            "method": method,
            "explanation_id": explanations[0]["id"] if explanations else None,
        }
        if view.role == LEARN:
            return {**common, "explanation_shown": bool(view.payload.get("explain"))}
        if view.role == RATING:
            return {**common, "rating": value["rating"], "rating_max": RATING_POINTS}
        model = self.model_label(view)
        gold = view.snapshot.get("gold_label")
        return {
            **common,
            "predicted_label": value["label"],
            "model_label": model,
            "gold_label": gold,
            "correct": value["label"] == model,
        }

    def describe_answer(self, view: TrialView, value: Any) -> str:
        if view.role == LEARN:
            return "read the example"
        if view.role == RATING:
            return f"rated the explanation {value['rating']} of {RATING_POINTS}"
        return f"chose “{view.snapshot['label_names'][int(value['label'])]}” as the model's output"

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return int(value["label"]) if "label" in value else repr(value)

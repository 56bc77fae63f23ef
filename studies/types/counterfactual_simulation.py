"""Counterfactual simulation: predict the model's output on an edited input.

After Hase and Bansal (2020). Each trial shows an input, the model's output on it (and, in
the ``post`` phase of a condition with explanations, that output's explanation), then an
edited copy of the input, and asks "What will the model predict for the edited text?". A
prediction is correct when it matches the model's real output on the edit. Phases, pairing,
between-subject conditions (one per method, one control) and the optional 7-point rating
are those of :mod:`studies.types.simulation` (no learning phases here).

Edits (``edit_source``):

- ``imported``: the researcher's pairs, ``edits`` = one ``{"id": <instance id>, "text":
  <edited text>}`` per instance, tokenised by the platform's tokenizer; every instance the
  design samples needs one;
- ``generated``: delete ``k`` tokens of the explained text, either the top-k of the
  ``edit_method``'s explanation (highest signed score first, ties by position, as the
  erasure metrics rank) or ``k`` tokens drawn at random (seeded by the study's seed and the
  instance, up to :data:`RANDOM_DRAWS` draws); ``edit_kinds`` allows ``top_k``, ``random``
  or ``both`` (top-k tried first). Within each list, half of the test items (rounded down)
  get an edit that changes the model's prediction and the rest one that keeps it; a design
  where that is impossible is refused with the counts.

The model's output on every edit is computed with the stored model
(:func:`explanations.services.model_store.model_load`,
:func:`explanations.compute.prediction.predict_proba`) when the study goes live, and frozen
with the item (``snapshot["counterfactual"]``). A draft's preview loads no model: it shows
each item's candidate edit (an imported one as imported; a generated one the first
candidate, top-k before random) with ``"prediction": None``, and says on the trial that
launch computes the model's output on the edit (and, for generated edits, picks per list
the deletions that change the prediction for half of the test items).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random
from typing import Any

import numpy as np
from django import forms
from django.core.exceptions import ValidationError

from explanations.compute.tokenize import tokenize
from explanations.models import Explanation, Instance
from studies.models import Study, StudyItem

from .base import Option, Snapshot, TrialView, register
from .simulation import RATING, SimulationType, simulation_options

RANDOM_DRAWS = 20
MAX_EDITS = 100_000
PHASE_TITLES = {
    "practice": "Practice: predict the model on an edited text",
    "pre": "Predict the model on an edited text",
    "post": "Again, now with the explanation",
    "post_rating": "Your view of the explanation",
}


class JSONLinesField(forms.CharField):
    """A textarea of JSON objects, one per line; a list of dicts in Python."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(json.dumps(v, ensure_ascii=False) for v in value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list) or value in (None, ""):
            return value
        return parse_edits(str(value))


def parse_edits(raw: str | Sequence[Any]) -> list[dict[str, str]]:
    """Return imported edits as ``[{"id", "text"}]``; raise ValidationError naming the line.

    ``raw`` is a list of objects or their JSON-lines text.
    """
    rows: list[Any] = []
    if isinstance(raw, str):
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"option edits, line {number}: not JSON ({exc.msg})"
                ) from None
    elif isinstance(raw, list | tuple):
        rows = list(enumerate(raw, start=1))
    else:
        raise ValidationError(
            f"option edits: expected JSON lines or a list of objects, got {type(raw).__name__}"
        )
    if len(rows) > MAX_EDITS:
        raise ValidationError(f"option edits: at most {MAX_EDITS} edits, got {len(rows)}")
    edits: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, row in rows:
        if (
            not isinstance(row, Mapping)
            or not isinstance(row.get("id"), str | int)
            or not isinstance(row.get("text"), str)
            or not row["text"].strip()
        ):
            raise ValidationError(
                f'option edits, line {number}: expected {{"id": <instance id>, "text": <edited text>}}'
            )
        key = str(row["id"])
        if key in seen:
            raise ValidationError(f"option edits, line {number}: instance {key!r} has two edits")
        seen.add(key)
        edits.append({"id": key, "text": row["text"]})
    return edits


def top_k_deletion(scores: Sequence[float], k: int) -> list[int]:
    """Return the positions of the ``k`` highest scores (signed; ties by position), sorted."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:k])


def random_deletions(n_tokens: int, k: int, *, seed: str, draws: int) -> list[list[int]]:
    """Return up to ``draws`` distinct sets of ``k`` token positions, seeded by ``seed``."""
    found: list[list[int]] = []
    for draw in range(draws):
        chosen = sorted(Random(f"{seed}:{draw}").sample(range(n_tokens), k))
        if chosen not in found:
            found.append(chosen)
    return found


def choose_targets(
    options: Mapping[int, tuple[bool, bool]], n_flips: int, rng: Random
) -> dict[int, bool] | None:
    """Return which instances get a flipping edit (True) so exactly ``n_flips`` do.

    ``options[i] = (can_flip, can_keep)``. Instances that can do only one get it; the
    others fill the remaining flips in a seeded random order. None when impossible.
    """
    targets = {i: can_flip for i, (can_flip, can_keep) in options.items() if can_flip != can_keep}
    free = sorted(i for i, (can_flip, can_keep) in options.items() if can_flip and can_keep)
    rng.shuffle(free)
    need = n_flips - sum(targets.values())
    if need < 0 or need > len(free):
        return None
    for position, instance in enumerate(free):
        targets[instance] = position < need
    return targets


@dataclass(frozen=True)
class Edit:
    """One candidate edit of an instance and the model's output on it (None in a preview)."""

    kind: str  # "top_k", "random" or "imported"
    tokens: list[str]
    deleted: list[int] | None
    text: str
    probabilities: list[float] | None
    method: str | None = None  # the explanation whose top-k tokens were deleted

    @property
    def label(self) -> int:
        assert self.probabilities is not None, "a preview's edit has no model output"
        return int(np.argmax(self.probabilities))


def _context_tokens(instance: Instance) -> list[str] | None:
    return instance.tokens if instance.text_b else None


def _predict(study: Study, rows: list[tuple[list[str], list[str] | None]]) -> list[list[float]]:
    """Return the model's probabilities on each (tokens, context) row (launch only)."""
    # Imported here, not at the top: launching this type is the one web request that runs
    # the model (torch); every web process imports the study types at start-up.
    from explanations.compute.prediction import predict_proba
    from explanations.services.model_store import ModelUnavailable, model_load

    try:
        module, vocab = model_load(study.model)
    except ModelUnavailable as exc:
        raise ValidationError(
            f"Counterfactual simulation computes the model's output on every edit, but {exc}"
        ) from exc
    if not rows:
        return []
    contexts = [c for _, c in rows]
    probabilities = predict_proba(
        module,
        [vocab.encode(tokens) for tokens, _ in rows],
        [vocab.encode(c or []) for c in contexts] if contexts[0] is not None else None,
    )
    return [[float(p) for p in row] for row in probabilities]


@register
class CounterfactualSimulation(SimulationType):
    name = "counterfactual_simulation"
    label = "Counterfactual simulation"
    description = (
        "See an input, the model's output (and in the second round its explanation) and an "
        "edited input; predict the model's output on the edit."
    )
    template_name = "studies/trials/counterfactual_simulation.html"
    question = "What will the model predict for the edited text?"
    explain_post = True

    options = (
        *simulation_options(question=question, rate_by_default=False),
        Option(
            "edit_source",
            "edit source",
            str,
            "generated",
            choices=(("generated", "Generate deletions"), ("imported", "Imported edits")),
        ),
        Option(
            "edit_kinds",
            "edit kinds",
            str,
            "both",
            choices=(
                ("both", "Top-k of the explanation, else k random tokens"),
                ("top_k", "Top-k tokens of the explanation"),
                ("random", "k random tokens"),
            ),
        ),
        Option("k", "k (tokens deleted)", int, 2, low=1, high=50),
        Option(
            "edit_method",
            "edit method",
            str,
            "",
            max_length=100,
            help_text="Method whose top-k tokens are deleted; empty: the first chosen method.",
        ),
        Option(
            "edits",
            "edits",
            list,
            [],
            parse=parse_edits,
            form_class=JSONLinesField,
            describe='JSON lines, one {"id": <instance id>, "text": <edited text>} per instance',
            help_text='Imported edits, one JSON object per line: {"id": "<instance id>", "text": "<edited text>"}.',
        ),
    )

    # Design -----------------------------------------------------------------------------
    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean_options(options)
        if cleaned["edit_source"] != "imported":
            return cleaned | {"edits": []}
        if not cleaned["edits"]:
            raise ValidationError("option edits: imported edits need at least one edit")
        return cleaned

    def extend_snapshots(
        self, *, study: Any, snapshots: dict[int, Snapshot], preview: bool
    ) -> None:
        """Check the design, build every item's edit and freeze the model's output on it.

        A preview loads no model: its edits carry ``"prediction": None``.
        """
        super().extend_snapshots(study=study, snapshots=snapshots, preview=preview)
        assert isinstance(study, Study)
        edits = self.study_edits(study, predict=not preview)
        for snapshot in snapshots.values():
            edit = edits[int(snapshot["instance"]["id"])]
            label_names = snapshot["label_names"]
            prediction = None
            if edit.probabilities is not None:
                prediction = {
                    "label": edit.label,
                    "label_name": label_names[edit.label],
                    "probabilities": edit.probabilities,
                }
            snapshot["counterfactual"] = {
                "kind": edit.kind,
                "tokens": edit.tokens,
                "deleted": edit.deleted,
                "text": edit.text,
                "method": edit.method,
                "prediction": prediction,
                "flipped": None
                if prediction is None
                else edit.label != snapshot["prediction"]["label"],
            }

    def study_edits(self, study: Study, *, predict: bool = True) -> dict[int, Edit]:
        """Return the edit of every instance the study's items show, by instance id.

        Without ``predict`` (a draft's preview) no model is loaded: each instance gets its
        first candidate edit, without the model's output.
        """
        options = study.type_options
        items = list(StudyItem.objects.filter(study=study).values_list("instance_id", "role"))
        instances = {i.pk: i for i in Instance.objects.filter(pk__in={pk for pk, _ in items})}
        if options["edit_source"] == "imported":
            return self._imported(study, instances, predict=predict)
        return self._generated(study, instances, predict=predict)

    def _imported(
        self, study: Study, instances: dict[int, Instance], *, predict: bool
    ) -> dict[int, Edit]:
        given = {e["id"]: e["text"] for e in study.type_options["edits"]}
        missing = sorted(i.external_id for i in instances.values() if i.external_id not in given)
        if missing:
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise ValidationError(
                f"{len(missing)} instance(s) the design uses have no imported edit: {shown}. "
                "Import an edit for every instance of the dataset that can be sampled, or use "
                "a dataset of just the edited instances."
            )
        order = sorted(instances)
        rows = []
        for pk in order:
            tokens, _ = tokenize(given[instances[pk].external_id])
            if not tokens:
                raise ValidationError(f"the edit of {instances[pk].external_id} has no tokens")
            rows.append((tokens, _context_tokens(instances[pk])))
        outputs: list[list[float] | None] = (
            list(_predict(study, rows)) if predict else [None] * len(rows)
        )
        return {
            pk: Edit("imported", tokens, None, given[instances[pk].external_id], probs)
            for pk, (tokens, _), probs in zip(order, rows, outputs, strict=True)
        }

    def _generated(
        self, study: Study, instances: dict[int, Instance], *, predict: bool
    ) -> dict[int, Edit]:
        options = study.type_options
        k, kinds = int(options["k"]), options["edit_kinds"]
        chosen = sorted(study.methods.values_list("name", flat=True))
        method = options["edit_method"] or chosen[0]
        if method not in chosen:
            raise ValidationError(
                f"option edit_method={method!r} is not one of the study's methods ({', '.join(chosen)})"
            )
        scores = dict(
            Explanation.objects.filter(
                model=study.model, instance_id__in=instances, method__name=method
            ).values_list("instance_id", "scores")
        )
        candidates: dict[int, list[tuple[str, list[int]]]] = {}
        for pk in sorted(instances):
            tokens = instances[pk].explained_tokens
            n = len(tokens)
            if n < 2:
                raise ValidationError(
                    f"instance {instances[pk].external_id} has {n} token(s): nothing to delete"
                )
            size = min(k, n - 1)  # keep at least one token
            found: list[tuple[str, list[int]]] = []
            if kinds in ("both", "top_k"):
                if pk not in scores:
                    raise ValidationError(
                        f"instance {instances[pk].external_id} has no {method} explanation"
                    )
                found.append(("top_k", top_k_deletion(scores[pk], size)))
            if kinds in ("both", "random"):
                for deleted in random_deletions(
                    n, size, seed=f"{study.seed}:counterfactual:{pk}", draws=RANDOM_DRAWS
                ):
                    if all(deleted != d for _, d in found):
                        found.append(("random", deleted))
            candidates[pk] = found
        if not predict:  # a preview: the first candidate of each instance, no model output
            return {
                pk: self._deletion(instances[pk], kind, deleted, None, method)
                for pk, [(kind, deleted), *_] in candidates.items()
            }
        flat = [(pk, kind, deleted) for pk, found in candidates.items() for kind, deleted in found]
        outputs = _predict(
            study,
            [
                (
                    [t for i, t in enumerate(instances[pk].explained_tokens) if i not in set(d)],
                    _context_tokens(instances[pk]),
                )
                for pk, _, d in flat
            ],
        )
        original = dict(
            study.model.predictions.filter(instance_id__in=instances).values_list(
                "instance_id", "label"
            )
        )
        edits: dict[int, list[Edit]] = {pk: [] for pk in candidates}
        for (pk, kind, deleted), probs in zip(flat, outputs, strict=True):
            edits[pk].append(self._deletion(instances[pk], kind, deleted, probs, method))

        def first(pk: int, flip: bool | None) -> Edit | None:
            for edit in edits[pk]:
                if flip is None or (edit.label != original[pk]) == flip:
                    return edit
            return None

        result: dict[int, Edit] = {}
        rng = Random(f"{study.seed}:counterfactual-targets")
        for study_list in study.lists.order_by("index"):
            test_ids = sorted(
                study_list.items.filter(role=StudyItem.Role.TEST).values_list(
                    "instance_id", flat=True
                )
            )
            if all(pk in result for pk in test_ids):
                continue  # the same block of instances in another condition
            possible = {
                pk: (first(pk, True) is not None, first(pk, False) is not None) for pk in test_ids
            }
            targets = choose_targets(possible, len(test_ids) // 2, rng)
            if targets is None:
                can_flip = sum(f for f, _ in possible.values())
                can_keep = sum(k_ for _, k_ in possible.values())
                raise ValidationError(
                    f"Cannot balance the edits of list {study_list.index}: of its {len(test_ids)} "
                    f"test items, {can_flip} have a deletion of {k} token(s) that changes the "
                    f"model's prediction and {can_keep} one that keeps it; half must do each. "
                    "Try another k, edit kinds 'both', more test items, or imported edits."
                )
            for pk, flip in targets.items():
                edit = first(pk, flip)
                assert edit is not None
                result[pk] = edit
        for pk in candidates:
            if pk not in result:  # practice and attention-check items: the preferred edit
                edit = first(pk, None)
                assert edit is not None
                result[pk] = edit
        return result

    @staticmethod
    def _deletion(
        instance: Instance,
        kind: str,
        deleted: list[int],
        probabilities: list[float] | None,
        method: str,
    ) -> Edit:
        """Return the edit deleting ``deleted`` from the instance's explained tokens."""
        gone = set(deleted)
        kept = [t for i, t in enumerate(instance.explained_tokens) if i not in gone]
        used = method if kind == "top_k" else None
        return Edit(kind, kept, deleted, " ".join(kept), probabilities, used)

    # Trial ------------------------------------------------------------------------------
    def model_label(self, view: TrialView) -> int:
        return int(view.snapshot["counterfactual"]["prediction"]["label"])

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        edit = snap["counterfactual"]
        deleted = set(edit["deleted"] or [])
        show_explanation = view.role == RATING or bool(view.payload.get("explain"))
        return self.base_context(view) | {
            "title": PHASE_TITLES.get(view.phase, ""),
            "prediction": snap["prediction"]["label_name"],
            "confidence": max(snap["prediction"]["probabilities"]),
            "explanation": self.explanation(view) if show_explanation else None,
            "edit_text": edit["text"],
            # Only a draft's preview lacks it: launch computes it (and picks generated edits).
            "edit_pending": edit["prediction"] is None,
            "edit_generated": edit["deleted"] is not None,
            "edit_tokens": [
                {"token": token, "deleted": i in deleted}
                for i, token in enumerate(snap["instance"]["tokens"])
            ]
            if edit["deleted"] is not None
            else None,
        }

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        columns = super().record(view, value)
        edit = view.snapshot["counterfactual"]
        return columns | {
            "original_label": view.snapshot["prediction"]["label"],
            "edit_kind": edit["kind"],
            "edit_deleted": edit["deleted"],
            "flipped": edit["flipped"],
        }

"""Rationale annotation: the participant marks the words that justify the label.

The participant reads the text and a label (the gold label by default, or the model's
prediction) and marks the tokens that justify it: by clicking, by dragging across words,
or with the keyboard (arrow keys move between words, space toggles one). No explanation is
shown; the chosen methods only decide which instances qualify (those explained by every
one of them, so the new rationales can score those explanations).

The answer is ``{"indices": [sorted token indices], "comment": str}``. Each answered test
or gold trial also becomes a :class:`~explanations.models.HumanRationale` of the instance
(``source="study"``, annotator ``study<id>:participant<id>``; see
:mod:`studies.services.rationales`), which the plausibility scores of ``compute_scores``
then use like any imported rationale.

Gold items show an instance with a known rationale (never displayed): the answer passes
when its token F1 against that rationale reaches ``gold_min_f1``. Attention checks ask to
mark one named word (the first or the second) and nothing else.
"""

import re
from collections.abc import Hashable, Mapping, Sequence
from random import Random
from typing import Any

from django.core.exceptions import ValidationError

from studies.services.rationales import rationales_sync

from .base import Option, StudyType, TrialView, commented, register
from .plausibility_rating import clean_comment

DEFAULT_QUESTION = "Mark the words that justify the label."
ORDINALS = ("first", "second")
TOKEN_FIELD = re.compile(r"^t(\d+)$")


def token_f1(marked: Sequence[int], truth: Sequence[int]) -> float:
    """Return the token F1 of ``marked`` against ``truth``: 2|M & T| / (|M| + |T|)."""
    m, t = set(marked), set(truth)
    if not m and not t:
        return 1.0
    return 2 * len(m & t) / (len(m) + len(t))


def parse_indices(data: Mapping[str, Any], n_tokens: int) -> list[int]:
    """Return the marked token indices posted as ``tokens`` ("0,3,4") and/or ``t<i>`` boxes.

    Raise ValidationError naming the first index that is not a word of the text.
    """
    raw: list[str] = [p for p in re.split(r"[\s,]+", str(data.get("tokens") or "")) if p]
    raw += [m.group(1) for key, v in data.items() if (m := TOKEN_FIELD.match(key)) and v]
    indices: set[int] = set()
    for part in raw:
        if not part.isdecimal():
            raise ValidationError(f"Marked words are sent as word numbers; got {part[:20]!r}.")
        index = int(part)
        if index >= n_tokens:
            raise ValidationError(
                f"Word {index + 1} is not in this text (it has {n_tokens} words)."
            )
        indices.add(index)
    return sorted(indices)


@register
class RationaleAnnotation(StudyType):
    name = "rationale_annotation"
    label = "Rationale annotation"
    description = "Mark the words that justify the label; the answers become human rationales."
    template_name = "studies/trials/rationale_annotation.html"
    produces_rationales = True
    keyboard_help = (
        "Arrow keys move between words, Space marks or unmarks one; "
        "you can also click or drag across words. Enter continues."
    )

    options = (
        Option(
            "label_source",
            "label source",
            str,
            "gold",
            choices=(("gold", "Gold label"), ("prediction", "Model's prediction")),
            help_text="The label the marked words must justify.",
        ),
        Option("question", "question", str, DEFAULT_QUESTION, max_length=300),
        Option("min_tokens", "min tokens", int, 1, low=1),
        Option(
            "max_tokens",
            "max tokens",
            int,
            None,
            low=1,
            nullable=True,
            help_text="Empty: no upper limit.",
        ),
        Option(
            "gold_min_f1",
            "gold min f1",
            float,
            0.5,
            low=0,
            high=1,
            help_text="Token F1 a gold answer needs.",
        ),
        Option("comment", "Optional comment", bool, False),
    )

    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean_options(options)
        low, high = cleaned["min_tokens"], cleaned["max_tokens"]
        if high is not None and high < low:
            raise ValidationError(f"option max_tokens={high} is below min_tokens={low}")
        return cleaned

    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        return [()]

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        index = rng.randrange(len(ORDINALS))
        return {
            "instruction": (
                "To show you are reading carefully, mark only the "
                f"{ORDINALS[index]} word of the text, and no other word."
            ),
            "indices": [index],
        }

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"instruction": None, "min_f1": options["gold_min_f1"]}

    # Reading the snapshot ---------------------------------------------------------------
    def _label(self, view: TrialView) -> tuple[int, str, str]:
        """Return (label index, label name, where it came from) the rationale justifies."""
        snap = view.snapshot
        gold = snap.get("gold_label")
        if view.options["label_source"] == "gold" and gold is not None:
            return gold, snap["label_names"][gold], "gold"
        prediction = snap["prediction"]
        return prediction["label"], prediction["label_name"], "prediction"

    def _known_rationale(self, view: TrialView) -> list[int] | None:
        for explanation in view.snapshot.get("explanations", []):
            if explanation["method"] == "human_rationale":
                return [i for i, s in enumerate(explanation["scores"]) if s > 0.5]
        return None

    # Trial ------------------------------------------------------------------------------
    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        _, label_name, source = self._label(view)
        return {
            "context_text": snap["instance"]["context"],
            "tokens": [
                {"index": i, "token": token, "field": f"t{i}"}
                for i, token in enumerate(snap["instance"]["tokens"])
            ],
            "label": label_name,
            "label_is_prediction": source == "prediction",
            "question": view.options["question"],
            "min_tokens": view.options["min_tokens"],
            "max_tokens": view.options["max_tokens"],
            "comment": view.options["comment"],
            "instruction": (view.expected or {}).get("instruction"),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        n_tokens = len(view.snapshot["instance"]["tokens"])
        indices = parse_indices(data, n_tokens)
        low, high = view.options["min_tokens"], view.options["max_tokens"]
        if len(indices) < low:
            raise ValidationError(
                "Please mark at least one word that justifies the label."
                if low == 1
                else f"Please mark at least {low} words that justify the label."
            )
        if high is not None and len(indices) > high:
            raise ValidationError(f"Please mark at most {high} words; you marked {len(indices)}.")
        return {"indices": indices, "comment": clean_comment(data, view.options["comment"])}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected:
            return None
        if "indices" in view.expected:
            return bool(value["indices"] == view.expected["indices"])
        truth = self._known_rationale(view)
        if truth is None:
            return None
        return token_f1(value["indices"], truth) >= view.expected["min_f1"]

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        label, label_name, source = self._label(view)
        truth = self._known_rationale(view)
        return {
            "indices": list(value["indices"]),
            "n_marked": len(value["indices"]),
            "n_tokens": len(view.snapshot["instance"]["tokens"]),
            "label": label,
            "label_name": label_name,
            "label_source": source,
            "gold_rationale_f1": None if truth is None else token_f1(value["indices"], truth),
            "comment": value.get("comment", ""),
        }

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return tuple(value["indices"])

    def describe_answer(self, view: TrialView, value: Any) -> str:
        tokens = view.snapshot["instance"]["tokens"]
        words = [tokens[i] for i in value["indices"]]
        count = f"{len(words)} word" + ("" if len(words) == 1 else "s")
        return f"marked {count}: {', '.join(words)}{commented(value)}"

    def after_response(self, view: TrialView, value: Any) -> None:
        if view.role in ("test", "gold"):
            rationales_sync(instance_id=int(view.snapshot["instance"]["id"]))

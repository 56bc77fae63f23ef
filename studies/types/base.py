"""The study-type interface and its registry.

A study type decides what one trial shows and how its answer is read; nothing else in the
app knows about types. The participant flow (entry, consent, instructions, practice,
trials, questionnaire, completion), the assignment engine, idempotent submission, the
exclusion rules and the researcher pages call only the methods below and never branch on
a type's name.

Adding a type (``forward_simulation``, ``counterfactual_simulation``, ``aided_task``,
``rationale_annotation``, ``expert_review``, ...) takes two modules: this one and its
analysis (``analysis/types/<name>.py``: results section and simulated answerer, see
:mod:`analysis.types.base`; the system check ``analysis.E001`` fails without it). A type
from another app lives in that app's ``study_types`` and ``analysis_types`` modules.

1. Create ``studies/types/<name>.py`` with a subclass of :class:`StudyType`; set ``name``,
   ``label``, ``description`` and ``template_name`` and decorate the class with
   :func:`register`. Import the module in ``studies/types/__init__.py``. Declare what the
   rest of the app does for it as capabilities (``has_adjudication``,
   ``produces_rationales``), never by testing its name.
2. Declare design options once in :attr:`StudyType.options` (:class:`Option`: type, range,
   default, human label); the form fields (:meth:`StudyType.option_fields`), the validation
   (:meth:`StudyType.clean_options`) and the bundle's codebook derive from it. A check
   across options (a minimum below a maximum) extends :meth:`StudyType.clean_options`
   after calling ``super()``; a structured option (a list) gives its ``parse`` and
   ``form_class``.
3. Say which explanations a stimulus shows: :meth:`StudyType.variants` maps the chosen
   methods to tuples (one method per rating, pairs for a preference, ``()`` for a task
   shown without explanations). Items and Latin-square lists are built per variant.
4. Order a list's trials in :meth:`StudyType.build_trials`. The default puts practice
   first, shuffles the test items and places attention checks and gold items at the
   study's positions. Hooks do no database queries: what they need is passed in. A type
   with phases (forward simulation: learn -> pre -> learn with explanations -> post)
   overrides it and returns :class:`TrialSpec` rows with its own ``phase`` names and
   per-trial ``payload``; the flow simply follows that order.
5. Draw a trial: ``template_name`` (a template under ``studies/templates/studies/trials/``
   rendering the stimulus and the named inputs inside the flow's form) and
   :meth:`StudyType.trial_context`. Never show a method name: label explanations
   "Explanation", "Explanation A/B". Give every input a label, and give choices a
   ``data-key`` attribute (the flow's script maps that key to the option) so the trial is
   keyboard-operable.
6. Read the answer: :meth:`StudyType.clean_answer` receives the posted fields and returns
   a JSON value, or raises ``ValidationError`` with a message for the participant.
   :meth:`StudyType.passes` checks attention-check and gold answers against
   ``StudyItem.expected``; :meth:`StudyType.record` flattens an answer into analysis
   columns, declared with their meaning in :attr:`StudyType.answer_columns` (``method``,
   ``explanation_id`` and ``comment`` are described once in :mod:`studies.contracts`);
   :meth:`StudyType.straightline_key` feeds the straight-lining rule.
7. Types that write elsewhere (rationale annotation creating ``HumanRationale`` rows) do
   it in a service called from :meth:`StudyType.after_response`, which runs inside the
   submission's transaction.

Every snapshot passed to these methods is the frozen copy stored on ``StudyItem.frozen``
(see :mod:`studies.services.snapshots`), of the shape :class:`studies.contracts.Snapshot`.
"""

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from random import Random
from typing import Any, ClassVar, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString, mark_safe

from explanations.display import token_cells
from studies.contracts import AnswerColumn, Snapshot

__all__ = ["AnswerColumn", "Option", "Snapshot", "StudyType"]


def _number(value: float) -> str:
    """Return a bound in words: whole numbers in full (2147483647, not 2.14748e+09)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Option:
    """One declared design option (of a study type, or of every study): the form field, the
    API's validation, the service's validation and the bundle's codebook are derived from it.

    ``kind`` is ``bool``, ``int``, ``float``, ``str`` or, for a structured value (a list),
    ``list`` with ``parse`` (text or JSON in, checked value out, ValidationError naming the
    option otherwise) and ``form_class`` (the form field that shows and reads it);
    ``choices`` are (value, human label) pairs; ``low``/``high`` bound a number,
    ``max_length`` a str; ``nullable`` lets a number be empty (None, e.g. "no limit").
    """

    name: str
    label: str
    kind: Callable[[Any], Any]  # bool, int, float, str or list
    default: Any
    choices: tuple[tuple[Any, str], ...] = ()
    low: float | None = None
    high: float | None = None
    max_length: int | None = None
    help_text: str = ""
    nullable: bool = False
    parse: Callable[[Any], Any] | None = None
    form_class: type[forms.Field] | None = None
    describe: str = ""  # valid values in words, for structured options
    subject: str = "option"  # what messages call it: "option k=0: ..."

    def form_field(self) -> forms.Field:
        """Return the design form's field for this option."""
        common: dict[str, Any] = {
            "label": self.label,
            "initial": self.default,
            "help_text": self.help_text,
        }
        if self.kind in (int, float) and not self.choices:
            # The range is checked by clean(), with the message the API and service give;
            # the browser still gets min/max.
            bounds = {"min": self.low, "max": self.high}
            attrs = {k: _number(v) for k, v in bounds.items() if v is not None}
            field_class = forms.IntegerField if self.kind is int else forms.FloatField
            return field_class(
                required=not self.nullable,
                validators=[self.clean],
                widget=forms.NumberInput(attrs=attrs),
                **common,
            )
        if self.form_class is not None:
            return self.form_class(required=False, **common)
        if self.kind is bool:
            return forms.BooleanField(required=False, **common)
        if self.choices:
            return forms.TypedChoiceField(choices=self.choices, coerce=self.kind, **common)
        return forms.CharField(max_length=self.max_length, required=False, **common)

    def expected(self) -> str:
        """Return what a valid value is, in words (for messages and the codebook)."""
        if self.describe:
            return self.describe
        if self.choices:
            return "one of " + ", ".join(repr(value) for value, _ in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind in (int, float):
            what = "a whole number" if self.kind is int else "a number"
            low = "" if self.low is None else f" >= {_number(self.low)}"
            high = "" if self.high is None else f" <= {_number(self.high)}"
            bounds = f"{low}{high and (' and' if low else '')}{high}"
            return what + bounds + (", or empty" if self.nullable else "")
        return "a text" + (f" of at most {self.max_length} characters" if self.max_length else "")

    def clean(self, value: Any) -> Any:
        """Return ``value`` checked and coerced (the default when missing); raise naming the option."""
        if self.parse is not None:
            return self.parse(self.default if value in (None, "", []) else value)
        if value is None or (value == "" and self.kind is not str):
            return self.default
        wrong = ValidationError(f"{self.subject} {self.name}={value!r}: expected {self.expected()}")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise wrong
            return value
        if self.kind in (int, float):
            if isinstance(value, bool):
                raise wrong
            try:
                value = self.kind(str(value).strip())
            except ValueError:
                raise wrong from None
            if not math.isfinite(value):  # "nan" and "inf" are floats
                raise wrong
            if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high
            ):
                raise wrong
        else:
            value = str(value) or self.default
            if self.max_length is not None and len(value) > self.max_length:
                raise wrong
        if self.choices and value not in {v for v, _ in self.choices}:
            raise wrong
        return value


@dataclass(frozen=True)
class ItemRef:
    """What :meth:`StudyType.build_trials` knows about one item of a list."""

    id: int
    role: str
    position: int
    methods: tuple[str, ...]
    expected: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TrialSpec:
    """One trial of an assignment, in presentation order."""

    item_id: int
    role: str
    phase: str = "main"
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Display:
    """How explanations are drawn: ``mode`` is "heatmap" or "bars"; ``top_k`` None means all."""

    mode: str = "heatmap"
    top_k: int | None = None


@dataclass(frozen=True)
class TrialView:
    """Everything a type needs to draw a trial or read its answer."""

    snapshot: Snapshot
    role: str
    phase: str
    payload: Mapping[str, Any]
    expected: Mapping[str, Any] | None
    options: Mapping[str, Any]
    display: Display


def explanation_view(
    *, tokens: Sequence[str], scores: Sequence[float], label: str, uid: str, display: Display
) -> dict[str, Any]:
    """Return the context of ``studies/trials/explanation.html`` for one explanation.

    Each token carries a spoken ``level`` ("strongly for", "weakly against", ...) so screen
    readers get what the colours show; tokens outside the top k get none.
    """
    tokens_view = []
    for cell in token_cells(tokens, scores, top_k=display.top_k):
        strength = abs(cell.weight)
        level = ""
        if cell.top and strength > 0:
            word = (
                "strongly" if strength >= 2 / 3 else "moderately" if strength >= 1 / 3 else "weakly"
            )
            level = f"{word} {'for' if cell.weight > 0 else 'against'}"
        tokens_view.append({"cell": cell, "level": level})
    view = {"label": label, "uid": uid, "tokens": tokens_view, "mode": display.mode}
    if display.mode == "heatmap":
        view["heatmap"] = heatmap_html(tokens_view)
    return view


def heatmap_html(tokens_view: Sequence[Mapping[str, Any]]) -> SafeString:
    """The heatmap's words, each in its colours with its spoken level, every value escaped.

    Built here rather than in a template loop: on a participant's trial page the loop was
    the template's largest part, growing with the text (2 tags and 4 lookups per word).
    """
    parts = []
    for x in tokens_view:
        cell = x["cell"]
        level = (
            f'<span class="visually-hidden"> ({escape(x["level"])})</span>' if x["level"] else ""
        )
        parts.append(
            f'<span class="tok" style="background:{escape(cell.background)};'
            f'color:{escape(cell.foreground)}">{escape(cell.token)}</span>{level} '
        )
    return mark_safe("".join(parts))  # noqa: S308  # every value is escaped above


def commented(value: Any) -> str:
    """Return "; commented “...”" for an answer with a non-empty comment, else ""."""
    comment = str(value.get("comment") or "").strip() if isinstance(value, Mapping) else ""
    return f"; commented “{comment}”" if comment else ""


class StudyType:
    """Base class of a study type; subclasses override what differs."""

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]
    template_name: ClassVar[str]
    keyboard_help: ClassVar[str] = ""

    # Declared design options (see :class:`Option`): the form fields, the validation and
    # the codebook derive from them.
    options: ClassVar[tuple[Option, ...]] = ()
    # The columns :meth:`record` returns, with what each means (written to the codebook).
    answer_columns: ClassVar[tuple[AnswerColumn, ...]] = ()

    # Capabilities: what the rest of the app does for this type (never decided by its name).
    has_adjudication: ClassVar[bool] = False  # a lead reviewer settles disagreeing reviews
    produces_rationales: ClassVar[bool] = False  # answers become HumanRationale rows

    # Design -----------------------------------------------------------------------------
    def option_fields(self) -> dict[str, forms.Field]:
        """Return the form fields of this type's design options, keyed by option name."""
        return {option.name: option.form_field() for option in self.options}

    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Return validated options with defaults filled; raise ValidationError naming the option."""
        unknown = set(options) - set(self.option_fields())
        if unknown:
            raise ValidationError(
                f"unknown option(s) for {self.name}: {', '.join(sorted(unknown))}; "
                f"expected {', '.join(sorted(self.option_fields())) or 'none'}"
            )
        if not self.options:
            return dict(options)
        return {option.name: option.clean(options.get(option.name)) for option in self.options}

    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        """Return the explanation tuples a stimulus shows (default: one method each)."""
        return [(m,) for m in methods]

    def min_methods(self) -> int:
        """Return how many methods a study of this type needs at least."""
        return 1

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        """Return the ``expected`` rule of a new instructed-response item (with its instruction)."""
        raise NotImplementedError

    def gold_variant(self) -> tuple[str, ...]:
        """Return the synthetic explanations a gold item shows (see ``snapshots.SYNTHETIC``)."""
        return ("human_rationale",)

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        """Return the ``expected`` rule of a gold item (its known answer)."""
        raise NotImplementedError

    def extend_snapshots(
        self, *, study: Any, snapshots: dict[int, Snapshot], preview: bool
    ) -> None:
        """Check the design and add this type's data to item snapshots (keyed by item id).

        Called at the end of ``snapshots_build``: when the study goes live (what is added is
        frozen with the item) and for a draft's preview (``preview`` True: shown on every
        page of the preview, so load no model and run no heavy computation; say on the
        trial what launch will compute). Raise ValidationError to refuse the design with a
        message for the researcher. Default: nothing.
        """

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
        """Order a list's items: practice, then shuffled tests with checks and gold placed.

        Positions are 1-based among the non-practice trials; a position past the end appends.
        ``list_payloads`` are the first-trial payloads of the list's active and completed
        assignments (empty in a preview), for types that balance something across a list's
        participants; a hook never queries the database itself.
        """
        by_role: dict[str, list[ItemRef]] = {}
        for item in sorted(items, key=lambda i: (i.role, i.position, i.id)):
            by_role.setdefault(item.role, []).append(item)
        practice = by_role.get("practice", [])
        tests = list(by_role.get("test", []))
        rng.shuffle(tests)
        placed: list[tuple[int, ItemRef]] = [
            *zip(attention_positions, by_role.get("attention_check", []), strict=False),
            *zip(gold_positions, by_role.get("gold", []), strict=False),
        ]
        main: list[ItemRef] = list(tests)
        for position, item in sorted(placed, key=lambda p: p[0]):
            main.insert(min(max(position, 1) - 1, len(main)), item)
        return [
            TrialSpec(
                item_id=item.id,
                role=item.role,
                phase="practice" if item.role == "practice" else "main",
                payload=self.trial_payload(item=item, options=options, rng=rng),
            )
            for item in [*practice, *main]
        ]

    def trial_payload(
        self, *, item: ItemRef, options: Mapping[str, Any], rng: Random
    ) -> dict[str, Any]:
        """Return the per-trial randomisation to record (default: none)."""
        return {}

    # Trial ------------------------------------------------------------------------------
    def trial_context(self, view: TrialView) -> dict[str, Any]:
        """Return the context of :attr:`template_name` for one trial."""
        raise NotImplementedError

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        """Return the answer as a JSON value, or raise ValidationError for the participant."""
        raise NotImplementedError

    def passes(self, view: TrialView, value: Any) -> bool | None:
        """Return whether ``value`` meets ``view.expected`` (None when there is no rule)."""
        return None

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        """Return analysis columns for one answer (flat JSON values)."""
        return {}

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        """Return what stays the same when a participant gives the same answer throughout."""
        return repr(value)

    def describe_answer(self, view: TrialView, value: Any) -> str:
        """Return what the participant answered, in words, for the researcher's preview.

        Phrased to follow "you" ("rated 4 on the 1–7 scale"); a type overrides it to say
        what the answer means on its trial. The default lists the answer's fields.
        """
        if not isinstance(value, Mapping):
            return f"answered {value}"
        parts = [f"{key} {item}" for key, item in value.items() if key != "comment"]
        return "answered " + (", ".join(parts) or "nothing") + commented(value)

    def after_response(self, view: TrialView, value: Any) -> None:
        """Write anything beyond the response row (inside the submission's transaction)."""


_REGISTRY: dict[str, StudyType] = {}
T = TypeVar("T", bound=type[StudyType])


def register(cls: T) -> T:
    """Register a study type class under its ``name`` (class decorator)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"study type {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_type(name: str) -> StudyType:
    """Return the registered study type ``name``; raise ValidationError naming the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValidationError(
            f"unknown study type {name!r}; expected one of {', '.join(sorted(_REGISTRY))}"
        ) from None


def type_names() -> list[str]:
    """Return the registered type names, sorted."""
    return sorted(_REGISTRY)


def type_names_where(capability: str) -> list[str]:
    """Return the names of the registered types declaring ``capability`` (e.g. "has_adjudication")."""
    return [name for name in type_names() if getattr(_REGISTRY[name], capability)]


def type_choices() -> list[tuple[str, str]]:
    """Return (name, label) pairs for forms."""
    return [(name, _REGISTRY[name].label) for name in type_names()]

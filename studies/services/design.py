"""Create and edit a study's design: sampled items, conditions and Latin-square lists.

Sampling is seeded (``random.Random(seed)``). Test instances are balanced over the model's
outcomes (TP/FP/TN/FN for binary tasks, correct/wrong otherwise) by round-robin over the
outcome groups, each shuffled, when every candidate has a gold label. Gold items come
first from instances with a human rationale; practice and attention-check items come from
instances not used as test items, so a participant sees each instance at most once.

Lists (Williams-free Latin square by rotation): with ``m`` variants in a condition, the
test instances are cut into blocks of ``items_per_participant``; for each block and each
rotation ``r`` in ``0..m-1`` one list holds instance ``i`` with variant ``(i + r) mod m``.
So each instance appears once per list and each (instance, variant) item sits in exactly
one list; with ``k`` participants per list, each item x method is judged ``k`` times.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from random import Random
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from analysis.compute.latin_square import latin_square_lists
from explanations import selectors as explanation_selectors
from explanations.io.limits import nul_at, nul_message
from explanations.models import (
    ClassifierModel,
    Dataset,
    Explanation,
    ExplanationMethod,
    HumanRationale,
    Instance,
    Prediction,
)
from studies import comprehension, questionnaires, selectors
from studies.design_fields import DESIGN, DESIGN_FIELDS, design_errors
from studies.models import Condition, Participant, QuestionnaireItem, Study, StudyItem, StudyList
from studies.types.base import get_type

from .preregistration import Preregistration, plan_apply, plan_of, preregistration_errors
from .snapshots import outcome_of

DEFAULT_CONSENT = (
    "You are invited to take part in a research study on how people judge explanations of "
    "a text classifier's predictions. Taking part is voluntary; you may stop at any time. "
    "We record your answers and how long each takes, with no information that identifies "
    "you beyond the id your recruitment platform gives us."
)
DEFAULT_INSTRUCTIONS = (
    "You will see short texts, the prediction a computer model made for each, and "
    "highlighting that is meant to explain the prediction; how to read it is explained "
    "below. Answer each question with your own judgement; "
    "there are no right or wrong answers, except for a few items that ask you to give a "
    "specific answer to check attention."
)
ALL_SOURCES = [s.value for s in Participant.Source]


@dataclass
class StudyDesign:
    """Everything a researcher decides when designing a study (forms and API build this)."""

    name: str
    study_type: str
    dataset: Dataset
    model: ClassifierModel
    methods: list[str]
    description: str = ""
    # Declared in studies.design_fields (defaults, ranges and labels live there).
    seed: int = DESIGN["seed"].default
    n_items: int = DESIGN["n_items"].default
    items_per_participant: int | None = DESIGN["items_per_participant"].default
    ratings_per_item: int = DESIGN["ratings_per_item"].default
    condition_design: str = DESIGN["condition_design"].default
    balance_outcomes: bool = DESIGN["balance_outcomes"].default
    practice_count: int = DESIGN["practice_count"].default
    attention_check_positions: list[int] = field(default_factory=list)
    gold_positions: list[int] = field(default_factory=list)
    type_options: dict[str, Any] = field(default_factory=dict)
    display_mode: str = DESIGN["display_mode"].default
    top_k: int | None = DESIGN["top_k"].default
    consent_text: str = DEFAULT_CONSENT
    instructions: str = DEFAULT_INSTRUCTIONS
    questionnaire: list[dict[str, Any]] = field(default_factory=list)
    questionnaire_preset: str | None = None
    sources: list[str] = field(default_factory=lambda: list(ALL_SOURCES))
    completion_code: str | None = None
    pay: str = DESIGN["pay"].default
    estimated_minutes: int = DESIGN["estimated_minutes"].default
    time_limit_minutes: int = DESIGN["time_limit_minutes"].default
    # Prolific outcomes and comprehension checks (issue #16, "Prolific").
    failed_checks_code: str = DESIGN["failed_checks_code"].default
    failed_checks_threshold: int = DESIGN["failed_checks_threshold"].default
    screened_out_code: str = DESIGN["screened_out_code"].default
    comprehension_checks: list[dict[str, Any]] | str = field(default_factory=list)
    # Pre-registration (issue #16): frozen at launch, so it changes with the draft only.
    preregistration: Preregistration = field(default_factory=Preregistration)


@dataclass(frozen=True)
class _Candidate:
    instance_id: int
    position: int
    outcome: str
    has_rationale: bool


def _check_positions(name: str, positions: Sequence[int]) -> list[int]:
    if not isinstance(positions, list | tuple) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in positions
    ):
        raise ValidationError({name: f"expected a list of positions >= 1, got {positions!r}"})
    return list(positions)


def _clean(design: StudyDesign) -> dict[str, Any]:
    """Validate ``design``; return the cleaned type options. Raise ValidationError by field."""
    kind = get_type(design.study_type) if design.study_type else None
    if kind is None:
        raise ValidationError({"study_type": "choose a study type"})
    errors = design_errors({f.name: getattr(design, f.name) for f in DESIGN_FIELDS})
    if not design.name.strip():
        errors["name"] = "a study needs a name"
    if design.model.dataset_id not in (None, design.dataset.pk):
        errors["model"] = (
            f"model {design.model} belongs to dataset {design.model.dataset}, not {design.dataset}"
        )
    if len(set(design.methods)) != len(design.methods):
        errors["methods"] = "each method may be chosen once"
    elif len(design.methods) < kind.min_methods():
        errors["methods"] = f"{kind.label} needs at least {kind.min_methods()} methods"
    else:
        known = set(
            ExplanationMethod.objects.filter(name__in=design.methods).values_list("name", flat=True)
        )
        missing = [m for m in design.methods if m not in known]
        if missing:
            errors["methods"] = f"unknown method(s): {', '.join(missing)}"
    bad_sources = [s for s in design.sources if s not in ALL_SOURCES]
    if bad_sources or not design.sources:
        errors["sources"] = f"expected some of {', '.join(ALL_SOURCES)}"
    if not design.consent_text.strip():
        errors["consent_text"] = "participants must see a consent text"
    if design.completion_code is not None and not design.completion_code.strip():
        errors["completion_code"] = "must not be blank"
    _check_codes(design, errors)
    for name, value in vars(design).items():
        if name in {"dataset", "model"}:
            continue
        # PostgreSQL text and jsonb cannot hold NUL; the REST API's dict fields let one in.
        position = nul_at(asdict(value) if isinstance(value, Preregistration) else value)
        if position:
            errors.setdefault(name, nul_message(position))
    try:
        design.comprehension_checks = comprehension.parse_checks(design.comprehension_checks)
    except ValidationError as exc:
        errors["comprehension_checks"] = exc.messages[0]
    errors.update(preregistration_errors(design.preregistration, study_type=design.study_type))
    if errors:
        raise ValidationError(errors)
    _check_positions("attention_check_positions", design.attention_check_positions)
    _check_positions("gold_positions", design.gold_positions)
    try:
        options = kind.clean_options(design.type_options)
    except ValidationError as exc:
        raise ValidationError({"type_options": exc.messages}) from exc
    position = nul_at(options)  # e.g. imported edits' JSON lines decode "\u0000" into one
    if position:
        raise ValidationError({"type_options": nul_message(position)})
    return options


def _check_codes(design: StudyDesign, errors: dict[str, str]) -> None:
    """Refuse an outcome code equal to another outcome's: Prolific tells outcomes by code."""
    codes = {
        "completion_code": (design.completion_code or "").strip(),
        "failed_checks_code": str(design.failed_checks_code or "").strip(),
        "screened_out_code": str(design.screened_out_code or "").strip(),
    }
    seen: dict[str, str] = {}
    for name, code in codes.items():
        if code and code in seen and name not in errors:
            errors[name] = f"{code!r} is already the {seen[code]}: each outcome needs its own code"
        seen.setdefault(code, name)


def _questionnaire_specs(design: StudyDesign) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    if design.questionnaire_preset:
        try:
            specs.extend(questionnaires.preset(design.questionnaire_preset))
        except KeyError as exc:
            raise ValidationError({"questionnaire_preset": str(exc.args[0])}) from exc
    for k, raw in enumerate(design.questionnaire, start=1):
        if not isinstance(raw, Mapping) or not str(raw.get("prompt", "")).strip():
            raise ValidationError(
                {"questionnaire": f"question {k}: expected an object with a prompt"}
            )
        kind = raw.get("kind", "text")
        if kind not in QuestionnaireItem.Kind.values:
            raise ValidationError(
                {"questionnaire": f"question {k}: kind {kind!r}; expected likert or text"}
            )
        specs.append(
            {
                "key": str(raw.get("key") or f"q{k}"),
                "kind": kind,
                "prompt": str(raw["prompt"]).strip(),
                "points": raw.get("points") if kind == "likert" else None,
                "low_label": str(raw.get("low_label", "")),
                "high_label": str(raw.get("high_label", "")),
                "required": bool(raw.get("required", kind == "likert")),
            }
        )
    keys = [s["key"] for s in specs]
    if len(set(keys)) != len(keys):
        raise ValidationError({"questionnaire": "question keys must be unique"})
    return specs


def _candidates(design: StudyDesign) -> list[_Candidate]:
    """Return instances with a prediction and an explanation by every chosen method."""
    explained = (
        Explanation.objects.filter(
            model=design.model, instance__dataset=design.dataset, method__name__in=design.methods
        )
        .values("instance_id")
        .annotate(n=Count("method_id", distinct=True))
        .filter(n=len(design.methods))
        .values_list("instance_id", flat=True)
    )
    predicted = dict(
        Prediction.objects.filter(model=design.model, instance_id__in=explained).values_list(
            "instance_id", "label"
        )
    )
    with_rationale = set(
        HumanRationale.objects.filter(instance_id__in=predicted)
        .exclude(token_indices=[])
        .values_list("instance_id", flat=True)
    )
    n_labels = len(design.model.label_names or design.dataset.label_names)
    return [
        _Candidate(pk, position, outcome_of(predicted[pk], gold, n_labels), pk in with_rationale)
        for pk, position, gold in Instance.objects.filter(pk__in=predicted.keys())
        .order_by("position")
        .values_list("pk", "position", "gold_label")
    ]


def _balanced(candidates: list[_Candidate], n: int, balance: bool, rng: Random) -> list[_Candidate]:
    groups: dict[str, list[_Candidate]] = {}
    use_outcomes = balance and all(c.outcome for c in candidates)
    for c in candidates:
        groups.setdefault(c.outcome if use_outcomes else "", []).append(c)
    for members in groups.values():
        rng.shuffle(members)
    chosen: list[_Candidate] = []
    keys = sorted(groups)
    while len(chosen) < n:
        for key in keys:
            if groups[key] and len(chosen) < n:
                chosen.append(groups[key].pop())
    return chosen


def _sample(design: StudyDesign, options: Mapping[str, Any]) -> dict[str, list[_Candidate]]:
    rng = Random(design.seed)
    candidates = _candidates(design)
    n_gold = len(design.gold_positions)
    needed = design.n_items + design.practice_count + len(design.attention_check_positions) + n_gold
    if len(candidates) < needed:
        raise ValidationError(
            {
                "n_items": (
                    f"{len(candidates)} instances of {design.dataset} have a prediction of {design.model} "
                    f"and an explanation by every chosen method ({', '.join(design.methods)}); the design "
                    f"needs {needed} ({design.n_items} test, {design.practice_count} practice, "
                    f"{len(design.attention_check_positions)} attention checks, {n_gold} gold)"
                )
            }
        )
    pool = list(candidates)
    rationale_pool = [c for c in pool if c.has_rationale]
    if len(rationale_pool) < n_gold:
        raise ValidationError(
            {
                "gold_positions": (
                    f"gold items need instances with a human rationale; {len(rationale_pool)} of "
                    f"the usable instances of {design.dataset} have one, the design asks for {n_gold}"
                )
            }
        )
    gold = rng.sample(rationale_pool, n_gold)
    pool = [c for c in pool if c not in gold]
    tests = _balanced(pool, design.n_items, design.balance_outcomes, rng)
    tests.sort(key=lambda c: c.position)
    rest = [c for c in pool if c not in tests]
    rng.shuffle(rest)
    practice = rest[: design.practice_count]
    checks = rest[
        design.practice_count : design.practice_count + len(design.attention_check_positions)
    ]
    return {"test": tests, "practice": practice, "attention_check": checks, "gold": gold}


def _build(study: Study, design: StudyDesign, options: Mapping[str, Any]) -> None:
    """Create the conditions, items, lists and questionnaire of a study in draft."""
    kind = get_type(design.study_type)
    sample = _sample(design, options)
    variants = kind.variants(design.methods)
    if design.condition_design == Study.ConditionDesign.WITHIN:
        groups = [("all methods", variants)]
    else:
        groups = [(" vs ".join(v), [v]) for v in variants]
    method_ids = dict(
        ExplanationMethod.objects.filter(name__in=design.methods).values_list("name", "pk")
    )
    explanation_ids = {
        (instance_id, method_id): pk
        for pk, instance_id, method_id in Explanation.objects.filter(
            model=design.model,
            instance_id__in=[c.instance_id for role in sample.values() for c in role],
            method_id__in=method_ids.values(),
        ).values_list("pk", "instance_id", "method_id")
    }
    rng = Random(f"{design.seed}:checks")
    list_index = 0
    for position, (name, condition_variants) in enumerate(groups):
        condition = Condition.objects.create(
            study=study,
            position=position,
            name=name,
            variants=[list(v) for v in condition_variants],
        )
        m = len(condition_variants)
        items: list[StudyItem] = []
        for i, c in enumerate(sample["test"]):
            for v, variant in enumerate(condition_variants):
                items.append(
                    StudyItem(
                        study=study,
                        condition=condition,
                        role=StudyItem.Role.TEST,
                        position=i * m + v,
                        instance_id=c.instance_id,
                        methods=list(variant),
                        outcome=c.outcome,
                    )
                )
        for j, c in enumerate(sample["practice"]):
            items.append(
                StudyItem(
                    study=study,
                    condition=condition,
                    role=StudyItem.Role.PRACTICE,
                    position=j,
                    instance_id=c.instance_id,
                    methods=list(condition_variants[j % m]),
                    outcome=c.outcome,
                )
            )
        for j, c in enumerate(sample["attention_check"]):
            items.append(
                StudyItem(
                    study=study,
                    condition=condition,
                    role=StudyItem.Role.ATTENTION_CHECK,
                    position=j,
                    instance_id=c.instance_id,
                    methods=list(condition_variants[j % m]),
                    outcome=c.outcome,
                    expected=kind.attention_check(options=options, rng=rng),
                )
            )
        for j, c in enumerate(sample["gold"]):
            items.append(
                StudyItem(
                    study=study,
                    condition=condition,
                    role=StudyItem.Role.GOLD,
                    position=j,
                    instance_id=c.instance_id,
                    methods=list(kind.gold_variant()),
                    outcome=c.outcome,
                    expected=kind.gold_expected(options=options),
                )
            )
        for item in items:
            item.full_clean(exclude=["study", "condition", "instance"], validate_unique=False)
        items = StudyItem.objects.bulk_create(items)
        links = [
            StudyItem.explanations.through(
                studyitem_id=item.pk, explanation_id=explanation_ids[key]
            )
            for item in items
            for key in [(item.instance_id, method_ids[m]) for m in item.methods if m in method_ids]
        ]
        StudyItem.explanations.through.objects.bulk_create(links)
        tests = {
            (item.position // m, item.position % m): item
            for item in items
            if item.role == StudyItem.Role.TEST
        }
        shared = [item for item in items if item.role != StudyItem.Role.TEST]
        for cells in latin_square_lists(len(sample["test"]), m, design.items_per_participant):
            study_list = StudyList.objects.create(
                study=study, condition=condition, index=list_index, target=design.ratings_per_item
            )
            study_list.items.set([tests[cell] for cell in cells] + shared)
            list_index += 1
    for position, spec in enumerate(_questionnaire_specs(design)):
        question = QuestionnaireItem(study=study, position=position, **spec)
        question.full_clean(exclude=["study"])
        question.save()


def _apply(study: Study, design: StudyDesign, options: Mapping[str, Any]) -> None:
    study.name = design.name.strip()
    study.description = design.description
    study.study_type = design.study_type
    study.dataset = design.dataset
    study.model = design.model
    for declared in DESIGN_FIELDS:
        setattr(study, declared.name, getattr(design, declared.name))
    study.attention_check_positions = list(design.attention_check_positions)
    study.gold_positions = list(design.gold_positions)
    study.type_options = dict(options)
    study.consent_text = design.consent_text
    study.instructions = design.instructions
    study.sources = list(design.sources)
    plan_apply(study, design.preregistration)
    if design.completion_code:
        study.completion_code = design.completion_code.strip()
    study.failed_checks_code = design.failed_checks_code.strip()
    study.screened_out_code = design.screened_out_code.strip()
    study.comprehension_checks = comprehension.parse_checks(design.comprehension_checks)
    study.full_clean(exclude=["owner", "dataset", "model"])
    study.save()
    study.methods.set(ExplanationMethod.objects.filter(name__in=design.methods))


def study_create(*, owner: User, design: StudyDesign) -> Study:
    """Create a draft study with its sampled items, conditions, lists and questionnaire."""
    options = _clean(design)
    with transaction.atomic():
        study = Study(owner=owner)
        _apply(study, design, options)
        _build(study, design, options)
    return study


def study_update(*, study: Study, design: StudyDesign) -> Study:
    """Replace a draft study's design (items are sampled again); a live study cannot change."""
    options = _clean(design)
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.DRAFT:
            raise ValidationError(
                f"study {locked} is {locked.status}: only a draft's design can change"
            )
        locked.lists.all().delete()
        locked.items.all().delete()
        locked.conditions.all().delete()
        locked.questionnaire.all().delete()
        _apply(locked, design, options)
        _build(locked, design, options)
    return locked


def study_delete(*, study: Study) -> None:
    """Delete a draft study; live and closed studies hold answers and are never deleted."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.DRAFT:
            raise ValidationError(f"study {locked} is {locked.status}: only a draft can be deleted")
        locked.lists.all().delete()
        locked.items.all().delete()
        locked.delete()


def study_duplicate(*, study: Study, actor: User) -> Study:
    """Create a new draft owned by ``actor`` with the design of ``study`` ("Copy of ...").

    Items are sampled again from the same seed, unfrozen, with no participants. The copy
    gets its own completion code: a code shared by two studies would let a participant of
    one claim the other's pay. Raise Http404 if ``actor`` may not see ``study``.
    """
    source = selectors.study_access(actor, study.pk)
    # The copy samples its items again: from data the actor may still see, as a new design.
    if not explanation_selectors.datasets_visible_to(actor).filter(pk=source.dataset_id).exists():
        raise ValidationError({"dataset": "its dataset is no longer shared with you"})
    if not explanation_selectors.models_visible_to(actor).filter(pk=source.model_id).exists():
        raise ValidationError({"model": "its model is no longer visible to you"})
    design = design_of(source)
    design.name = f"Copy of {source.name}"[: Study._meta.get_field("name").max_length]
    design.completion_code = None
    return study_create(owner=actor, design=design)


def design_of(study: Study) -> StudyDesign:
    """Return the design a study was made with (to edit it)."""
    return StudyDesign(
        name=study.name,
        study_type=study.study_type,
        dataset=study.dataset,
        model=study.model,
        methods=sorted(study.methods.values_list("name", flat=True)),
        description=study.description,
        attention_check_positions=list(study.attention_check_positions),
        gold_positions=list(study.gold_positions),
        type_options=dict(study.type_options),
        consent_text=study.consent_text,
        instructions=study.instructions,
        questionnaire=[
            {
                "key": q.key,
                "kind": q.kind,
                "prompt": q.prompt,
                "points": q.points,
                "low_label": q.low_label,
                "high_label": q.high_label,
                "required": q.required,
            }
            for q in study.questionnaire.all()
        ],
        sources=list(study.sources),
        completion_code=study.completion_code,
        comprehension_checks=list(study.comprehension_checks),
        preregistration=plan_of(study),
        **{declared.name: getattr(study, declared.name) for declared in DESIGN_FIELDS},
    )

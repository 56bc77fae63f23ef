"""The analysis side of a study type, and its registry.

A study type (``studies.types.base.StudyType``) says what a trial shows and how an answer
is read; its :class:`AnalysisType` says what the analysis page computes from the answers
(:meth:`AnalysisType.section`) and how a simulated participant answers one trial
(:meth:`AnalysisType.answer`). Both are required: the system check in
:mod:`analysis.checks` fails when a registered study type lacks either.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from random import Random
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from analysis.services.options import AnalysisOptions
from analysis.services.tables import Table
from studies.contracts import ShownExplanation
from studies.models import Study, Trial
from studies.types.base import TrialView

SectionResult = tuple[dict[str, Any], dict[str, dict[str, Any]]]
CARELESS_SHARE = 0.12
SIGNAL_METRICS = ("comprehensiveness_aopc", "sufficiency_aopc", "decision_flip", "tau_loo")
SIGNAL_WEIGHT = 0.6
Signal = tuple[str | None, float, float]


class SimulatedPerson:
    """One simulated participant's traits and random stream (what an answerer draws from).

    Each has a leniency ``b ~ N(0, 0.5)`` and is *careless* with probability
    :data:`CARELESS_SHARE` (answers at random, quickly, and passes an attention check only
    with probability 0.4). An attentive participant's latent judgement of an explanation is
    ``0.6 z + b + v_item + e`` with ``z`` the explanation's faithfulness score standardised
    over the study's items (:data:`SIGNAL_METRICS`, first one present), ``v_item ~ N(0, 0.4)``
    shared by everyone and ``e ~ N(0, 0.8)``.
    """

    def __init__(self, *, seed: int, index: int, signal: Signal) -> None:
        self.rng = Random(f"elephant-simulation:{seed}:{index}")
        self.seed = seed
        self.index = index
        self.careless = self.rng.random() < CARELESS_SHARE
        self.leniency = self.rng.gauss(0.0, 0.5)
        self.metric, self.mean, self.sd = signal

    def start_trial(self, trial: Trial) -> None:
        """Seed this trial's draws by what it shows, so answers do not depend on the order."""
        item = trial.item
        key = f"{item.instance_id}:{item.role}:{'|'.join(item.methods)}:{trial.phase}"
        self.rng = Random(f"elephant-simulation:{self.seed}:{self.index}:{key}")

    def judgement(self, explanation: ShownExplanation, instance_id: int) -> float:
        """Return the latent judgement (standard units) of one shown explanation."""
        z = 0.0
        for score in explanation.get("metric_scores", []):
            if score["metric"] == self.metric and score.get("value") is not None:
                z = (float(score["value"]) - self.mean) / self.sd  # type: ignore[arg-type]  # checked not None
        shared = Random(f"elephant-simulation:{self.seed}:item:{instance_id}")
        item_effect = shared.gauss(0.0, 0.4)
        return SIGNAL_WEIGHT * z + self.leniency + item_effect + self.rng.gauss(0.0, 0.8)

    def complies(self) -> bool:
        """Return whether this participant follows an instruction or knows a gold answer."""
        return self.rng.random() < (0.4 if self.careless else 0.95)

    def seconds(self) -> float:
        """Return how long one trial takes."""
        centre = 1.2 if self.careless else 6.0
        return float(centre * math.exp(self.rng.gauss(0.0, 0.35)))


class AnalysisType:
    """Base class of one study type's analysis; subclasses set the names and override both."""

    study_type: ClassVar[str]  # the ``StudyType.name`` this analyses
    section_key: ClassVar[str]  # key of the section in ``results["sections"]``
    section_title: ClassVar[str]
    # The template drawing the section on the analysis page and in the report (context:
    # ``section``, the section's dict with its ``title``). The built-in types leave it None:
    # ``analysis/_results.html`` draws their sections itself.
    section_template: ClassVar[str | None] = "analysis/_section.html"
    # The dotted path of a service function computing the section from the same keyword
    # arguments as :meth:`section`; a type sets it or overrides ``section``. A path, not the
    # function: the builders import the statistics (scipy, statsmodels, numba), which only
    # the analysis page needs when it computes, not every web process when it registers
    # the types at start-up.
    section_builder: ClassVar[str | None] = None

    def section(
        self,
        *,
        study: Study,
        responses: Table,
        study_methods: Sequence[str],
        options: AnalysisOptions,
    ) -> SectionResult:
        """Return the type's results section (JSON-safe) and its plots' data, by plot name."""
        if self.section_builder is None:
            raise NotImplementedError
        builder: Callable[..., SectionResult] = import_string(self.section_builder)
        return builder(
            study=study, responses=responses, study_methods=study_methods, options=options
        )

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        """Return what a simulated participant posts for one trial (like the trial's form)."""
        raise NotImplementedError


_REGISTRY: dict[str, AnalysisType] = {}
A = TypeVar("A", bound=type[AnalysisType])


def register(cls: A) -> A:
    """Register an analysis class under its ``study_type`` (class decorator).

    Registering the same class again (a module imported twice, as when the test runner
    changes ``INSTALLED_APPS``) is harmless; another class for the same type is an error.
    """
    found = _REGISTRY.get(cls.study_type)
    if found is not None and type(found).__qualname__ != cls.__qualname__:
        raise ValueError(f"the analysis of study type {cls.study_type!r} is registered twice")
    _REGISTRY[cls.study_type] = cls()
    return cls


def registered() -> Mapping[str, AnalysisType]:
    """Return the registered analyses by study type name."""
    return _REGISTRY


def get_analysis(name: str) -> AnalysisType:
    """Return the analysis of study type ``name``; raise ValidationError when it has none."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValidationError(
            f"study type {name!r} has no analysis module; analysed types are "
            f"{', '.join(sorted(_REGISTRY)) or 'none'}"
        ) from None


def has_section(analysis: AnalysisType) -> bool:
    """Return whether ``analysis`` defines its results section."""
    return (
        type(analysis).section is not AnalysisType.section
        or type(analysis).section_builder is not None
    )


def has_answerer(analysis: AnalysisType) -> bool:
    """Return whether ``analysis`` defines its simulated answerer."""
    return type(analysis).answer is not AnalysisType.answer

"""Power by simulation: how many participants and items a plausibility-rating study needs.

Generative model: the one the analysis fits (:mod:`analysis.compute.mixed_model`),
``rating ~ faithfulness + method + (1|participant) + (1|item)``::

    latent_a = b0 + b_f f_e(a) + b_m(a) + u_p(a) + v_i(a) + e_a
    u_p ~ N(0, sd_participant^2), v_i ~ N(0, sd_item^2), e_a ~ N(0, sd_residual^2)

with ``f_e``, the faithfulness score of explanation ``e`` in standard-deviation units,
drawn per study as ``N(faithfulness_mean[m], faithfulness_sd[m]^2)`` for its method
``m``. On a Likert scale the rating is ``latent`` rounded to the nearest point and
clipped to the scale, as the simulated participants of
:mod:`analysis.types.plausibility_rating` answer; ``scale=None`` keeps it continuous.

Design: the platform's own (``studies.services.design``): ``n_items`` test instances
cut into blocks of ``items_per_participant``, one list per block and rotation, list
``(block, r)`` showing instance ``i`` with method ``(i + r) mod M``; participants fill
the lists in turn (the least-filled list first, as ``studies.services.assignment``
does), so each participant rates every instance of a block once.

Tests, with the same model and statistics as the analysis page (two-sided, level
``alpha``): the faithfulness coefficient (per standard deviation, ``standardize=True``),
each method against the reference method, and all method contrasts together (Wald
chi-square, "omnibus"). Each simulated study is fitted with the fast equivalent of
MixedLM in :mod:`analysis.compute.crossed_wald`. The analysis also shows rank
correlations with bootstrap intervals; their power is not simulated here (a bootstrap
per simulated study would cost a thousand times more), and the mixed model's
faithfulness test is the one with a p-value.

Power is the share of simulated studies that reject; its Monte-Carlo standard error is
``sqrt(p (1 - p) / n_studies)``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.compute.arrays import FloatArray, IntArray
from analysis.compute.crossed_wald import CrossedDesign, crossed_wald
from analysis.compute.latin_square import latin_square_lists
from analysis.compute.result import Record, finite_or_none

FAITHFULNESS_TEST = "faithfulness (per standard deviation)"
OMNIBUS_TEST = "methods (omnibus)"
# Studies simulated and fitted together; bounds the memory of one batch.
DEFAULT_CHUNK = 100
Progress = Callable[[int, int, str], None]


def method_test(method: str, reference: str) -> str:
    """Return the name of the test of ``method`` against ``reference`` (as the analysis names it)."""
    return f"method[{method}] - method[{reference}]"


@dataclass(frozen=True)
class PowerModel(Record):
    """Parameters of the generative model, on the rating scale (see the module docstring).

    ``method_effects[m]`` is method ``m``'s difference to the reference method (whose own
    entry is 0); ``faithfulness_mean`` and ``faithfulness_sd`` are per method, in units of
    the faithfulness score's standard deviation.
    """

    method_names: tuple[str, ...]
    reference_method: str
    intercept: float
    method_effects: tuple[float, ...]
    faithfulness_slope: float
    faithfulness_mean: tuple[float, ...]
    faithfulness_sd: tuple[float, ...]
    sd_participant: float
    sd_item: float
    sd_residual: float
    scale: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        """Check the parameters; raise ``ValueError`` naming the first bad one."""
        m = len(self.method_names)
        if m < 1 or len(set(self.method_names)) != m:
            raise ValueError(f"method_names: expected distinct names, got {self.method_names}")
        if self.reference_method not in self.method_names:
            raise ValueError(
                f"reference_method: {self.reference_method!r} is not one of {self.method_names}"
            )
        for name in ("method_effects", "faithfulness_mean", "faithfulness_sd"):
            values = getattr(self, name)
            if len(values) != m or not all(np.isfinite(values)):
                raise ValueError(f"{name}: expected {m} finite numbers (one per method)")
        if self.method_effects[self.method_names.index(self.reference_method)] != 0:
            raise ValueError("method_effects: the reference method's own effect must be 0")
        for name in ("sd_participant", "sd_item", "sd_residual"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a standard deviation >= 0, got {value}")
        if any(sd < 0 for sd in self.faithfulness_sd):
            raise ValueError("faithfulness_sd: expected standard deviations >= 0")
        if self.sd_residual == 0:
            raise ValueError("sd_residual: expected > 0 (a model without noise has power 1)")
        for name in ("intercept", "faithfulness_slope"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name}: expected a finite number")
        if self.scale is not None and not (
            len(self.scale) == 2 and int(self.scale[0]) < int(self.scale[1])
        ):
            raise ValueError(f"scale: expected (low, high) with low < high, got {self.scale}")


@dataclass(frozen=True)
class PowerDesign(Record):
    """One study size: participants, test trials per participant, instances and methods."""

    n_participants: int
    items_per_participant: int
    n_items: int
    n_methods: int

    def __post_init__(self) -> None:
        """Check the sizes; raise ``ValueError`` naming the first bad one."""
        for name in ("n_participants", "items_per_participant", "n_items", "n_methods"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}: expected a whole number >= 1, got {value!r}")
        if self.n_participants < 2:
            raise ValueError("n_participants: expected at least 2 (a variance needs two)")
        if self.items_per_participant > self.n_items:
            raise ValueError(
                f"items_per_participant: {self.items_per_participant} is more than "
                f"n_items ({self.n_items})"
            )

    @property
    def n_lists(self) -> int:
        """Return the number of lists (blocks times rotations)."""
        return -(-self.n_items // self.items_per_participant) * self.n_methods

    def arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        """Return ``participant``, ``item`` (instance) and ``method`` of every answer.

        Participant ``p`` takes list ``p mod n_lists`` (the least-filled list first, lists
        in index order); the lists are :func:`latin_square_lists`.
        """
        lists = latin_square_lists(self.n_items, self.n_methods, self.items_per_participant)
        participant: list[int] = []
        item: list[int] = []
        method: list[int] = []
        for p in range(self.n_participants):
            cells = lists[p % len(lists)]
            participant += [p] * len(cells)
            item += [i for i, _ in cells]
            method += [v for _, v in cells]
        return (
            np.asarray(participant, dtype=np.int64),
            np.asarray(item, dtype=np.int64),
            np.asarray(method, dtype=np.int64),
        )


@dataclass(frozen=True)
class SimulatedStudies:
    """``B`` simulated studies of one design: ratings ``(B, N)``, faithfulness ``(B, E)``.

    Explanation ``e = item * n_methods + method``; ``explanation`` maps answers to it.
    """

    participant: IntArray
    item: IntArray
    method: IntArray
    explanation: IntArray
    rating: FloatArray
    faithfulness: FloatArray


def simulate_studies(
    model: PowerModel, design: PowerDesign, n_studies: int, rng: np.random.Generator
) -> SimulatedStudies:
    """Return ``n_studies`` studies drawn from ``model`` on ``design`` (vectorised)."""
    if design.n_methods != len(model.method_names):
        raise ValueError(
            f"n_methods: the design has {design.n_methods} methods, the model "
            f"{len(model.method_names)}"
        )
    participant, item, method = design.arrays()
    m = design.n_methods
    explanation = item * m + method
    explanation_method = np.tile(np.arange(m), design.n_items)
    means = np.asarray(model.faithfulness_mean)[explanation_method]
    sds = np.asarray(model.faithfulness_sd)[explanation_method]
    faithfulness = means + sds * rng.standard_normal((n_studies, design.n_items * m))
    u = model.sd_participant * rng.standard_normal((n_studies, design.n_participants))
    v = model.sd_item * rng.standard_normal((n_studies, design.n_items))
    latent = (
        model.intercept
        + np.asarray(model.method_effects)[method]
        + model.faithfulness_slope * faithfulness[:, explanation]
        + u[:, participant]
        + v[:, item]
        + model.sd_residual * rng.standard_normal((n_studies, participant.size))
    )
    if model.scale is not None:
        latent = np.clip(np.round(latent), model.scale[0], model.scale[1])
    return SimulatedStudies(
        participant=participant,
        item=item,
        method=method,
        explanation=explanation,
        rating=latent,
        faithfulness=faithfulness,
    )


@dataclass(frozen=True)
class PowerEstimate(Record):
    """Power of one test at one design, with its Monte-Carlo standard error."""

    test: str
    effect: float | None
    power: float | None
    mc_se: float | None
    n_studies: int
    n_failed: int


@dataclass(frozen=True)
class PowerCell(Record):
    """The power of every test at one design."""

    design: PowerDesign
    n_answers: int
    ratings_per_explanation: float
    tests: tuple[PowerEstimate, ...]

    def power_of(self, test: str) -> float | None:
        """Return the power of ``test`` (None if it was not estimated)."""
        return next((t.power for t in self.tests if t.test == test), None)


def study_p_values(
    model: PowerModel, studies: SimulatedStudies, design: CrossedDesign | None = None
) -> dict[str, FloatArray]:
    """Return each test's p-value in every simulated study (NaN where undefined).

    The faithfulness score is divided by its standard deviation over the answers, as the
    analysis does (``standardize=True``); methods are treatment-coded against the reference.
    """
    crossed = design or CrossedDesign.build(studies.participant, studies.item)
    score = studies.faithfulness[:, studies.explanation]
    spread = score.std(axis=1, keepdims=True)
    columns = [np.ones_like(score), score / np.where(spread > 0, spread, 1.0)]
    names = model.method_names
    reference = names.index(model.reference_method)
    contrasts = [k for k in range(len(names)) if k != reference]
    for k in contrasts:
        columns.append(np.broadcast_to((studies.method == k).astype(np.float64), score.shape))
    exog = np.stack(columns, axis=2)
    wald = crossed_wald(crossed, exog, studies.rating)
    found = {FAITHFULNESS_TEST: wald.p_value(1)}
    for j, k in enumerate(contrasts):
        found[method_test(names[k], names[reference])] = wald.p_value(2 + j)
    if len(contrasts) > 1:
        found[OMNIBUS_TEST] = wald.joint_p_value([2 + j for j in range(len(contrasts))])
    return found


def design_power(
    model: PowerModel,
    design: PowerDesign,
    *,
    n_studies: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> PowerCell:
    """Return the power of each test at ``design``, from ``n_studies`` simulated studies."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a significance level in (0, 1), got {alpha}")
    if n_studies < 1:
        raise ValueError(f"n_studies: expected at least 1, got {n_studies}")
    rng = np.random.default_rng(seed)
    participant, item, _ = design.arrays()
    crossed = CrossedDesign.build(participant, item)
    rejected: dict[str, int] = {}
    failed: dict[str, int] = {}
    done = 0
    while done < n_studies:
        size = min(chunk_size, n_studies - done)
        studies = simulate_studies(model, design, size, rng)
        for test, p in study_p_values(model, studies, crossed).items():
            rejected[test] = rejected.get(test, 0) + int(np.sum(p < alpha))
            failed[test] = failed.get(test, 0) + int(np.sum(~np.isfinite(p)))
        done += size
        if progress is not None:
            progress(done, n_studies, _label(design))
    names = model.method_names
    effects: dict[str, float | None] = {
        FAITHFULNESS_TEST: model.faithfulness_slope,
        OMNIBUS_TEST: None,
    }
    for k, name in enumerate(names):
        effects[method_test(name, model.reference_method)] = model.method_effects[k]
    tests = []
    for test, count in rejected.items():
        valid = n_studies - failed[test]
        power = count / valid if valid else None
        tests.append(
            PowerEstimate(
                test=test,
                effect=finite_or_none(effects.get(test)),
                power=power,
                mc_se=None if power is None else float(np.sqrt(power * (1 - power) / valid)),
                n_studies=n_studies,
                n_failed=failed[test],
            )
        )
    return PowerCell(
        design=design,
        n_answers=int(participant.size),
        ratings_per_explanation=participant.size / (design.n_items * design.n_methods),
        tests=tuple(tests),
    )


def _label(design: PowerDesign) -> str:
    """Return the progress label of one design."""
    return f"{design.n_participants} participants x {design.items_per_participant} items"


def power_grid(
    model: PowerModel,
    designs: Sequence[PowerDesign],
    *,
    n_studies: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[PowerCell, ...]:
    """Return :func:`design_power` for every design; each design has its own seeded stream."""
    streams = np.random.SeedSequence(seed).spawn(len(designs))
    return tuple(
        design_power(
            model,
            design,
            n_studies=n_studies,
            alpha=alpha,
            seed=int(stream.generate_state(1)[0]),
            progress=progress,
        )
        for design, stream in zip(designs, streams, strict=True)
    )


@dataclass(frozen=True)
class Recommendation(Record):
    """The smallest design reaching the target power on ``tests``, or why there is none."""

    tests: tuple[str, ...]
    target: float
    design: PowerDesign | None
    power: tuple[float | None, ...]
    reason: str | None = None


def recommend(
    cells: Sequence[PowerCell], *, tests: Sequence[str], target: float = 0.8
) -> Recommendation:
    """Return the smallest design whose power reaches ``target`` on every one of ``tests``.

    Smallest: fewest answers (participants x items per participant), then fewest
    participants. The power estimate itself is used, not a lower confidence bound, so
    with few simulated studies a design near the target may be recommended by chance;
    the Monte-Carlo standard errors in the table say how near.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target: expected a power in (0, 1), got {target}")
    if not tests:
        raise ValueError("tests: expected at least one test name")
    ordered = sorted(cells, key=lambda c: (c.n_answers, c.design.n_participants))
    for cell in ordered:
        powers = tuple(cell.power_of(test) for test in tests)
        if all(p is not None and p >= target for p in powers):
            return Recommendation(tuple(tests), target, cell.design, powers)
    if not ordered:
        return Recommendation(tuple(tests), target, None, (), reason="no design was simulated")
    largest = ordered[-1]
    reached = ", ".join(f"{test}: {_percent(largest.power_of(test))}" for test in tests)
    return Recommendation(
        tuple(tests),
        target,
        None,
        tuple(largest.power_of(test) for test in tests),
        reason=(
            f"no simulated design reaches power {target:.2f} on every test; the largest "
            f"({_label(largest.design)}) gives {reached}: simulate larger designs"
        ),
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"

"""Cluster bootstrap: resample participants and items, not answers.

Answers in a human study are not independent: one participant's answers share
their leniency, one item's answers share its difficulty. A bootstrap over answers
("trial" scheme below) ignores both and understates the uncertainty; the default
here is the two-way cluster ("pigeonhole") bootstrap of Owen (2007), the resampling
analogue of the two-way cluster-robust variance of Cameron, Gelbach & Miller (2011):

* each resample draws ``P`` participants with replacement and, independently, ``I``
  items with replacement; ``m_p`` and ``m_i`` are how often participant ``p`` and
  item ``i`` were drawn (multinomial counts summing to ``P`` and ``I``);
* an answer by participant ``p`` on item ``i`` enters the resample ``m_p * m_i``
  times, so a statistic on the resample is the same statistic computed with those
  multiplicities as frequency weights; nothing is copied.

Owen shows this variance estimate is mildly conservative for crossed random
effects: the participant and item parts come out right, while the residual part is
counted about three times (``Var(m_p m_i) = E[m_p^2] E[m_i^2] - 1 ~ 3``), which
matters only when participants and items barely differ. McCullagh (2000) shows no
bootstrap is exact for crossed designs.

Schemes (``Resampling``):

* ``two_way``: participants and items (default; the estimand generalises to new
  participants *and* new items);
* ``participant``: participants only, items held fixed;
* ``item``: items only, participants held fixed;
* ``trial``: answers independently; kept only to show how much it understates.

Intervals are percentile intervals by default (Efron & Tibshirani 1993, ch. 13):
the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled
statistic (numpy's default linear interpolation); the ``basic`` interval (Davison
& Hinkley 1997) is the option for statistics whose resampled values are shifted
from the estimate. One such case matters here: a correlation of *mean ratings*.
A resample that draws a participant twice averages fewer distinct raters per
explanation, so its means are noisier and its correlation more attenuated
(regression dilution); the percentile interval then sits below the estimate. The
shift is reported as ``bias`` on every interval. Resamples are seeded: the participant,
item and answer draws come from three independent streams spawned from one
``numpy.random.SeedSequence(seed)``, so results do not depend on chunk size.

References: A. B. Owen (2007), The pigeonhole bootstrap, Ann. Appl. Stat. 1(2);
A. C. Cameron, J. B. Gelbach, D. L. Miller (2011), Robust inference with multiway
clustering, J. Bus. Econ. Stat. 29(2); P. McCullagh (2000), Resampling and
exchangeable arrays, Bernoulli 6(2).
"""

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy import sparse

from analysis.compute.arrays import FloatArray, IntArray
from analysis.compute.result import Record, finite_or_none

Resampling = Literal["two_way", "participant", "item", "trial"]
RESAMPLING_SCHEMES: tuple[str, ...] = get_args(Resampling)
Interval = Literal["percentile", "basic"]
INTERVALS: tuple[str, ...] = get_args(Interval)

RESAMPLING_DESCRIPTION: dict[str, str] = {
    "two_way": "two-way cluster bootstrap: participants and items resampled independently",
    "participant": "cluster bootstrap over participants (items held fixed)",
    "item": "cluster bootstrap over items (participants held fixed)",
    "trial": "bootstrap over answers (ignores clustering; understates uncertainty)",
}

# Elements (resamples x width) in one chunk's float64 arrays: 8 MB, small enough to stay
# mostly in cache (measured 2x faster per resample than 40 MB chunks).
CHUNK_ELEMENTS = 1_000_000


@dataclass(frozen=True)
class BootstrapCI(Record):
    """A bootstrap interval; ``lower``/``upper`` are None with a ``note`` saying why.

    ``bias`` is the mean resampled statistic minus the estimate.
    """

    lower: float | None
    upper: float | None
    level: float
    interval: str
    resampling: str
    n_resamples: int
    n_valid: int
    seed: int
    bias: float | None
    note: str | None = None


@dataclass(frozen=True)
class Estimate(Record):
    """A number with its bootstrap interval; ``value`` is None with a ``reason`` if undefined."""

    value: float | None
    ci: BootstrapCI | None
    reason: str | None = None


@dataclass(frozen=True)
class ResampleChunk:
    """Multiplicities of one chunk of ``b`` resamples.

    ``participant`` is ``(b, P)``, ``item`` is ``(b, I)``: how often each cluster
    was drawn (all ones for a scheme that does not resample it). ``answer`` is
    ``(b, N)`` for the trial scheme and None otherwise.
    """

    participant: FloatArray
    item: FloatArray
    answer: FloatArray | None

    @property
    def size(self) -> int:
        """Return the number of resamples in the chunk."""
        return int(self.participant.shape[0])

    def answer_weights(self, participant: IntArray, item: IntArray) -> FloatArray:
        """Return the ``(b, N)`` multiplicity of every answer: ``m_p * m_i`` (or the draw)."""
        if self.answer is not None:
            return self.answer
        weights: FloatArray = self.participant[:, participant] * self.item[:, item]
        return weights


def check_resampling(
    resampling: str, n_resamples: int, level: float, interval: str = "percentile"
) -> None:
    """Raise ``ValueError`` for an unknown scheme or interval, a negative count or a bad level."""
    if interval not in INTERVALS:
        raise ValueError(f"interval: expected one of {INTERVALS}, got {interval!r}")
    if resampling not in RESAMPLING_SCHEMES:
        raise ValueError(f"resampling: expected one of {RESAMPLING_SCHEMES}, got {resampling!r}")
    if n_resamples < 0:
        raise ValueError(f"n_resamples: expected >= 0, got {n_resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a confidence level in (0, 1), got {level}")


def clustering_problem(
    resampling: str, *, n_participants: int, n_items: int, n_answers: int, n_resamples: int
) -> str | None:
    """Return why no interval can be computed under ``resampling``, or None if one can."""
    if n_resamples == 0:
        return "no bootstrap resamples were requested (n_resamples=0)"
    needs_participants = resampling in ("two_way", "participant")
    needs_items = resampling in ("two_way", "item")
    if needs_participants and n_participants < 2:
        return (
            f"only {n_participants} participant: the variation between participants cannot "
            "be estimated, so no interval generalising to new participants is given"
        )
    if needs_items and n_items < 2:
        return (
            f"only {n_items} item: the variation between items cannot be estimated, "
            "so no interval generalising to new items is given"
        )
    if resampling == "trial" and n_answers < 2:
        return f"only {n_answers} answer: nothing to resample"
    return None


def chunk_size_for(width: int, n_resamples: int) -> int:
    """Return how many resamples to process at once when each needs ``width`` numbers."""
    return max(1, min(n_resamples, CHUNK_ELEMENTS // max(width, 1)))


def _uniform_counts(rng: np.random.Generator, n: int, size: int) -> FloatArray:
    """Return ``(size, n)`` multinomial counts of ``n`` draws with replacement from ``n``."""
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=size)
    return counts.astype(np.float64)


def iter_resamples(
    resampling: str,
    *,
    n_participants: int,
    n_items: int,
    n_answers: int,
    n_resamples: int,
    seed: int,
    chunk_size: int,
) -> Iterator[ResampleChunk]:
    """Yield the multiplicities of ``n_resamples`` resamples in chunks of ``chunk_size``.

    The participant, item and answer draws use separate streams spawned from
    ``SeedSequence(seed)``, and every row is drawn in order, so the same seed gives
    the same resamples whatever the chunk size.
    """
    participant_seq, item_seq, answer_seq = np.random.SeedSequence(seed).spawn(3)
    participant_rng = np.random.default_rng(participant_seq)
    item_rng = np.random.default_rng(item_seq)
    answer_rng = np.random.default_rng(answer_seq)
    done = 0
    while done < n_resamples:
        size = min(chunk_size, n_resamples - done)
        if resampling in ("two_way", "participant"):
            participant = _uniform_counts(participant_rng, n_participants, size)
        else:
            participant = np.ones((size, n_participants))
        if resampling in ("two_way", "item"):
            item = _uniform_counts(item_rng, n_items, size)
        else:
            item = np.ones((size, n_items))
        answer = _uniform_counts(answer_rng, n_answers, size) if resampling == "trial" else None
        yield ResampleChunk(participant=participant, item=item, answer=answer)
        done += size


class WeightedSums:
    """Sums of answer values with resampling weights: ``S_k = sum_a m_p(a) m_i(a) v_ak``.

    Each value column is stored as a sparse items-by-participants table ``V_k``, so
    for a chunk with participant counts ``M_P`` (b x P) and item counts ``M_I``
    (b x I) the sums are ``rowsum((V_k @ M_P^T)^T * M_I)``: one sparse-dense product
    per column, ``nnz(V_k) * b`` multiply-adds, instead of a loop over resamples.
    """

    def __init__(
        self,
        participant: IntArray,
        item: IntArray,
        values: FloatArray | sparse.csc_matrix,
        *,
        n_participants: int,
        n_items: int,
    ) -> None:
        """Prepare the tables for ``values`` (answers x columns, dense or sparse)."""
        self._values = sparse.csc_matrix(values)
        self._tables: list[sparse.csr_matrix] = []
        for k in range(self._values.shape[1]):
            start, stop = self._values.indptr[k], self._values.indptr[k + 1]
            rows = self._values.indices[start:stop]
            table = sparse.csr_matrix(
                (self._values.data[start:stop], (item[rows], participant[rows])),
                shape=(n_items, n_participants),
            )
            self._tables.append(table)

    def __call__(self, chunk: ResampleChunk) -> FloatArray:
        """Return the ``(b, K)`` weighted column sums for the resamples in ``chunk``."""
        if chunk.answer is not None:
            sums: FloatArray = np.asarray((self._values.T @ chunk.answer.T).T)
            return sums
        result = np.empty((chunk.size, len(self._tables)))
        for k, table in enumerate(self._tables):
            per_item = table @ chunk.participant.T  # (I, b)
            result[:, k] = np.einsum("ib,bi->b", per_item, chunk.item)
        return result


def bootstrap_ci(
    samples: FloatArray,
    *,
    estimate: float | None,
    level: float,
    resampling: str,
    seed: int,
    interval: str = "percentile",
    bounds: tuple[float, float] | None = None,
    min_valid_fraction: float = 0.9,
) -> BootstrapCI:
    """Return a bootstrap interval from resampled statistics; NaN marks an undefined resample.

    With ``Q`` the quantile function of the defined resampled statistics and
    ``a = (1 - level) / 2``:

    * ``percentile``: ``[Q(a), Q(1 - a)]`` (Efron & Tibshirani 1993, ch. 13);
    * ``basic``: ``[2 t - Q(1 - a), 2 t - Q(a)]`` with ``t`` the estimate (Davison &
      Hinkley 1997, eq. 5.6), which removes a shift of the resampled statistics
      from the estimate to first order; clipped to ``bounds`` if given.

    ``bias = mean(resampled) - estimate`` is always reported; a note flags it when
    it exceeds a quarter of the interval's width, since a percentile interval then
    sits off-centre. If fewer than ``min_valid_fraction`` of the resamples define
    the statistic, no interval is given: the rest would be a biased selection.
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval: expected one of {INTERVALS}, got {interval!r}")
    n_resamples = int(samples.size)
    valid = samples[np.isfinite(samples)]
    n_valid = int(valid.size)
    bias = None if estimate is None or n_valid == 0 else finite_or_none(valid.mean() - estimate)
    empty = BootstrapCI(
        lower=None,
        upper=None,
        level=level,
        interval=interval,
        resampling=resampling,
        n_resamples=n_resamples,
        n_valid=n_valid,
        seed=seed,
        bias=bias,
    )
    if estimate is None:
        return dataclasses.replace(empty, note="the estimate is undefined; no interval")
    if n_valid < 2 or n_valid < min_valid_fraction * n_resamples:
        return dataclasses.replace(
            empty,
            note=(
                f"the statistic was defined in only {n_valid} of {n_resamples} resamples "
                f"(needs {min_valid_fraction:.0%}); no interval"
            ),
        )
    low_q, high_q = np.quantile(valid, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    if interval == "percentile":
        lower, upper = float(low_q), float(high_q)
    else:
        lower, upper = 2.0 * estimate - float(high_q), 2.0 * estimate - float(low_q)
    if bounds is not None:
        lower, upper = max(lower, bounds[0]), min(upper, bounds[1])
    notes = []
    if n_valid < n_resamples:
        notes.append(
            f"{n_resamples - n_valid} of {n_resamples} resamples left the statistic "
            "undefined and were left out; the interval is conditional on it being defined"
        )
    if bias is not None and abs(bias) > 0.25 * (float(high_q) - float(low_q)):
        notes.append(
            f"the resampled statistics are centred {bias:+.3g} away from the estimate, more "
            "than a quarter of the interval's width"
            + (
                "; the percentile interval inherits this shift (interval='basic' removes it "
                "to first order)"
                if interval == "percentile"
                else ""
            )
        )
    return dataclasses.replace(
        empty,
        lower=finite_or_none(lower),
        upper=finite_or_none(upper),
        note="; ".join(notes) or None,
    )


def resampled_column_sums(
    participant: IntArray,
    item: IntArray,
    values: FloatArray | sparse.csc_matrix,
    *,
    n_participants: int,
    n_items: int,
    n_resamples: int,
    resampling: str,
    seed: int,
) -> FloatArray:
    """Return the ``(n_resamples, K)`` weighted column sums of ``values`` (answers x K).

    Row ``b`` is ``sum_a w_ab v_ak`` with ``w_ab`` the multiplicity of answer ``a`` in
    resample ``b`` (``m_p m_i`` for the cluster schemes); see :class:`WeightedSums`.
    """
    n_answers = int(participant.size)
    sums = WeightedSums(participant, item, values, n_participants=n_participants, n_items=n_items)
    width = max(n_items, n_answers if resampling == "trial" else 0)
    result = np.empty((n_resamples, sparse.csc_matrix(values).shape[1]))
    done = 0
    for chunk in iter_resamples(
        resampling,
        n_participants=n_participants,
        n_items=n_items,
        n_answers=n_answers,
        n_resamples=n_resamples,
        seed=seed,
        chunk_size=chunk_size_for(width, n_resamples),
    ):
        result[done : done + chunk.size] = sums(chunk)
        done += chunk.size
    return result


def indicator_columns(
    group: IntArray, n_groups: int, values: FloatArray | None = None
) -> sparse.csc_matrix:
    """Return the sparse ``(N, n_groups)`` matrix with ``values[a]`` (or 1) at ``(a, group[a])``."""
    data = np.ones(group.size) if values is None else values
    return sparse.csc_matrix((data, (np.arange(group.size), group)), shape=(group.size, n_groups))


def estimate_with_ci(
    value: float | None,
    samples: FloatArray | None,
    *,
    problem: str | None,
    level: float,
    resampling: str,
    interval: str,
    seed: int,
    bounds: tuple[float, float] | None = None,
) -> Estimate:
    """Return ``value`` with the interval from ``samples``, or with the reason there is none."""
    if value is None:
        return Estimate(value=None, ci=None, reason=problem or "undefined: no answers to use")
    if problem is not None or samples is None:
        return Estimate(value=value, ci=None, reason=problem)
    ci = bootstrap_ci(
        samples,
        estimate=value,
        level=level,
        resampling=resampling,
        interval=interval,
        seed=seed,
        bounds=bounds,
    )
    return Estimate(value=value, ci=ci, reason=None if ci.lower is not None else ci.note)


def ratio_or_nan(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """Return ``numerator / denominator`` with NaN wherever the denominator is 0."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out

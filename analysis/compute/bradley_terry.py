"""Bradley-Terry strengths of explanation methods from pairwise preferences.

Model (Bradley & Terry 1952): method ``k`` is preferred to method ``l`` with
probability ``sigma(t_k - t_l) = exp(t_k) / (exp(t_k) + exp(t_l))``; the log
strengths ``t`` are identified up to a constant and reported with ``sum_k t_k = 0``.
A tie ("no preference") counts as half a win for each side.

With ``W_kl`` the (weighted) number of times ``k`` was preferred to ``l`` and
``n_kl = W_kl + W_lk``, the log-likelihood ``sum_kl W_kl log sigma(t_k - t_l)`` has

* gradient ``g_k = sum_l (W_kl - n_kl sigma(t_k - t_l))``,
* negative Hessian the weighted Laplacian ``L`` with off-diagonal
  ``-n_kl s_kl (1 - s_kl)``, ``s_kl = sigma(t_k - t_l)``;

it is maximised by Newton's method with step halving, for all bootstrap resamples
at once. The maximum exists and is unique iff the directed graph with an edge
``k -> l`` whenever ``W_kl > 0`` is strongly connected (Ford 1957; Hunter 2004);
otherwise some strength is infinite and the result says so. ``pseudo_count`` adds
that many virtual wins in each direction to every pair, which always satisfies the
condition (a mild shrinkage towards equal strengths).

Intervals:

* Wald: ``t_k +- z sqrt(L^+_kk)`` with ``L^+`` the pseudo-inverse of the information
  at the estimate (the covariance under the sum-to-zero constraint). It treats every
  choice as independent;
* two-way cluster bootstrap over participants and items (percentile by default):
  choices cluster by participant and by item, so this is the one to report when
  the participant and item of each choice are known.

Estimand: the log strength of each method relative to the average method, in the
population of participants and items.
"""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse, stats

from analysis.compute.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    bool_array,
    check_names,
    dense_codes,
    index_array,
    same_length,
)
from analysis.compute.bootstrap import (
    RESAMPLING_DESCRIPTION,
    BootstrapCI,
    bootstrap_ci,
    check_resampling,
    chunk_size_for,
    clustering_problem,
    iter_resamples,
)
from analysis.compute.result import Record, finite_or_none

MAX_ITERATIONS = 100
_TOLERANCE = 1e-10

ESTIMAND = "log strength of the method relative to the average method (sum-to-zero)"


@dataclass(frozen=True)
class PairwiseChoices:
    """Pairwise preferences, one row per choice.

    ``winner[j]`` and ``loser[j]`` are method indices (into ``method_names``) of the
    preferred and the other explanation; if ``tie[j]`` the participant expressed no
    preference and the order does not matter. ``participant`` and ``item`` (the
    instance whose two explanations were compared) identify the clusters. ``is_tie``
    is ``tie`` checked (all False if not given).
    """

    participant: IntArray
    item: IntArray
    winner: IntArray
    loser: IntArray
    method_names: tuple[str, ...]
    tie: BoolArray | None = None
    is_tie: BoolArray = field(init=False, repr=False)
    participant_code: IntArray = field(init=False, repr=False)
    item_code: IntArray = field(init=False, repr=False)
    n_participants: int = field(init=False)
    n_items: int = field(init=False)

    def __post_init__(self) -> None:
        """Check and coerce the arrays; number participants and items densely."""
        names = tuple(self.method_names)
        winner = index_array("winner", self.winner, bound=len(names))
        loser = index_array("loser", self.loser, bound=len(names))
        participant = index_array("participant", self.participant)
        item = index_array("item", self.item)
        tie = np.zeros(winner.size, dtype=bool) if self.tie is None else bool_array("tie", self.tie)
        same_length(participant=participant, item=item, winner=winner, loser=loser, tie=tie)
        check_names("method_names", names, len(names))
        if np.any(winner == loser):
            row = int(np.flatnonzero(winner == loser)[0])
            raise ValueError(f"winner and loser: row {row} compares a method with itself")
        participant_code, n_participants = dense_codes(participant)
        item_code, n_items = dense_codes(item)
        for name, value in (
            ("participant", participant),
            ("item", item),
            ("winner", winner),
            ("loser", loser),
            ("method_names", names),
            ("is_tie", tie),
            ("participant_code", participant_code),
            ("item_code", item_code),
            ("n_participants", n_participants),
            ("n_items", n_items),
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class MethodStrength(Record):
    """One method's Bradley-Terry log strength with Wald and bootstrap intervals."""

    method: str
    log_strength: float | None
    wald_lower: float | None
    wald_upper: float | None
    ci: BootstrapCI | None
    wins: float
    comparisons: float


@dataclass(frozen=True)
class BradleyTerryResult(Record):
    """Bradley-Terry fit; ``win_probability[k][l]`` = P(method k preferred to l)."""

    methods: tuple[MethodStrength, ...]
    win_probability: tuple[tuple[float | None, ...], ...]
    n_choices: int
    n_ties: int
    n_participants: int
    n_items: int
    log_likelihood: float | None
    iterations: int
    pseudo_count: float
    level: float
    estimand: str
    reason: str | None = None


def strongly_connected(wins: FloatArray) -> BoolArray:
    """Return, per ``(B, K, K)`` win matrix, whether its win graph is strongly connected.

    Ford's (1957) condition for a finite Bradley-Terry maximum: every method beats,
    directly or through others, every other method. Reachability by repeated
    boolean squaring of ``I + A``, ``A_kl = [W_kl > 0]``.
    """
    n_methods = wins.shape[-1]
    reach = (wins > 0) | np.eye(n_methods, dtype=bool)
    for _ in range(int(np.ceil(np.log2(max(n_methods, 2))))):
        reach = np.matmul(reach.astype(np.float64), reach.astype(np.float64)) > 0
    connected: BoolArray = np.asarray(reach.all(axis=(-2, -1)))
    return connected


def _log_likelihood(theta: FloatArray, wins: FloatArray) -> FloatArray:
    """Return ``sum_kl W_kl log sigma(t_k - t_l)`` per row."""
    difference = theta[:, :, None] - theta[:, None, :]
    log_sigma = -np.logaddexp(0.0, -difference)
    total: FloatArray = (wins * log_sigma).sum(axis=(1, 2))
    return total


def fit_bradley_terry(wins: FloatArray) -> tuple[FloatArray, BoolArray, int]:
    """Return sum-to-zero log strengths for each ``(B, K, K)`` win matrix.

    Rows failing Ford's condition or not converging in ``MAX_ITERATIONS`` Newton
    steps are NaN. Also returns whether each row converged and the iterations used.
    Formula in the module docstring.
    """
    n_rows, n_methods, _ = wins.shape
    comparisons = wins + np.swapaxes(wins, 1, 2)
    ok = strongly_connected(wins)
    theta = np.zeros((n_rows, n_methods))
    converged = np.zeros(n_rows, dtype=bool)
    centring = np.full((n_methods, n_methods), 1.0 / n_methods)
    active = ok.copy()
    iterations = 0
    while active.any() and iterations < MAX_ITERATIONS:
        iterations += 1
        t, w, n = theta[active], wins[active], comparisons[active]
        s = 1.0 / (1.0 + np.exp(-(t[:, :, None] - t[:, None, :])))
        gradient = (w - n * s).sum(axis=2)
        c = n * s * (1.0 - s)
        laplacian = -c + np.eye(n_methods) * c.sum(axis=2)[:, :, None]
        step = np.linalg.solve(laplacian + centring, gradient[:, :, None])[:, :, 0]
        current = _log_likelihood(t, w)
        scale = np.ones(t.shape[0])
        for _ in range(40):
            trial = t + scale[:, None] * step
            worse = _log_likelihood(trial, w) < current - 1e-12 * np.abs(current)
            if not worse.any():
                break
            scale[worse] /= 2.0
        theta[active] = trial - trial.mean(axis=1, keepdims=True)
        done = np.abs(scale[:, None] * step).max(axis=1) < _TOLERANCE
        finished = np.flatnonzero(active)[done]
        converged[finished] = True
        active[finished] = False
    theta[~converged] = np.nan
    return theta, converged, iterations


def win_matrix(
    winner: IntArray,
    loser: IntArray,
    tie: BoolArray,
    n_methods: int,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Return ``(B, K, K)`` weighted win counts, one matrix per row of ``weights``.

    ``W_kl = sum_j w_j ([winner_j = k, loser_j = l] (1 - tie_j / 2) + [tie_j] / 2 [loser_j = k,
    winner_j = l])``: a tie is half a win each way. Without ``weights`` every choice counts once.
    """
    weights = np.ones((1, winner.size)) if weights is None else weights
    rows = np.concatenate([np.arange(winner.size), np.flatnonzero(tie)])
    cells = np.concatenate([winner * n_methods + loser, loser[tie] * n_methods + winner[tie]])
    amounts = np.concatenate([np.where(tie, 0.5, 1.0), np.full(int(tie.sum()), 0.5)])
    choice_to_cell = sparse.csr_matrix(
        (amounts, (rows, cells)), shape=(winner.size, n_methods * n_methods)
    )
    counts = np.asarray((choice_to_cell.T @ weights.T).T)
    return counts.reshape(-1, n_methods, n_methods)


def bradley_terry(
    choices: PairwiseChoices,
    *,
    pseudo_count: float = 0.0,
    n_resamples: int = 1000,
    level: float = 0.95,
    resampling: str = "two_way",
    interval: str = "percentile",
    seed: int = 0,
) -> BradleyTerryResult:
    """Return Bradley-Terry log strengths with Wald and cluster-bootstrap intervals.

    Model, estimation, intervals and estimand in the module docstring (Bradley &
    Terry 1952; Hunter 2004; Owen 2007 for the two-way bootstrap).
    """
    check_resampling(resampling, n_resamples, level, interval)
    if pseudo_count < 0:
        raise ValueError(f"pseudo_count: expected >= 0, got {pseudo_count}")
    names = choices.method_names
    n_methods = len(names)
    prior = pseudo_count * (1.0 - np.eye(n_methods))
    wins = win_matrix(choices.winner, choices.loser, choices.is_tie, n_methods)[0] + prior
    comparisons = wins + wins.T
    theta, converged, iterations = fit_bradley_terry(wins[None])
    base = BradleyTerryResult(
        methods=tuple(
            MethodStrength(
                method=name,
                log_strength=None,
                wald_lower=None,
                wald_upper=None,
                ci=None,
                wins=float(wins[k].sum() - prior[k].sum()),
                comparisons=float(comparisons[k].sum() - 2 * prior[k].sum()),
            )
            for k, name in enumerate(names)
        ),
        win_probability=(),
        n_choices=int(choices.winner.size),
        n_ties=int(choices.is_tie.sum()),
        n_participants=choices.n_participants,
        n_items=choices.n_items,
        log_likelihood=None,
        iterations=iterations,
        pseudo_count=pseudo_count,
        level=level,
        estimand=ESTIMAND,
    )
    if n_methods < 2:
        return dataclasses.replace(base, reason="fewer than two methods: nothing to compare")
    if not converged[0]:
        return dataclasses.replace(base, reason=_no_maximum_reason(wins, names))
    t = theta[0]
    s = 1.0 / (1.0 + np.exp(-(t[:, None] - t[None, :])))
    c = comparisons * s * (1.0 - s)
    covariance = np.linalg.pinv(np.diag(c.sum(axis=1)) - c)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    half_width = z * np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    samples = np.full((n_resamples, n_methods), np.nan)
    problem = clustering_problem(
        resampling,
        n_participants=choices.n_participants,
        n_items=choices.n_items,
        n_answers=int(choices.winner.size),
        n_resamples=n_resamples,
    )
    if problem is None:
        samples = _resampled_strengths(
            choices, prior, n_resamples=n_resamples, resampling=resampling, seed=seed
        )
    methods = []
    for k, strength in enumerate(base.methods):
        ci = None
        if problem is None:
            ci = bootstrap_ci(
                samples[:, k],
                estimate=float(t[k]),
                level=level,
                resampling=resampling,
                interval=interval,
                seed=seed,
            )
        methods.append(
            dataclasses.replace(
                strength,
                log_strength=finite_or_none(t[k]),
                wald_lower=finite_or_none(t[k] - half_width[k]),
                wald_upper=finite_or_none(t[k] + half_width[k]),
                ci=ci,
            )
        )
    estimand = (
        ESTIMAND if problem else f"{ESTIMAND}; interval: {RESAMPLING_DESCRIPTION[resampling]}"
    )
    return dataclasses.replace(
        base,
        methods=tuple(methods),
        win_probability=tuple(tuple(finite_or_none(v) for v in row) for row in s),
        log_likelihood=finite_or_none(_log_likelihood(theta, wins[None])[0]),
        estimand=estimand,
        reason=problem,
    )


def _no_maximum_reason(wins: FloatArray, names: tuple[str, ...]) -> str:
    """Return a message naming why the Bradley-Terry maximum does not exist."""
    never_won = [names[k] for k in range(len(names)) if wins[k].sum() == 0]
    never_lost = [names[k] for k in range(len(names)) if wins[:, k].sum() == 0]
    details = []
    if never_won:
        details.append(f"never preferred: {', '.join(never_won)}")
    if never_lost:
        details.append(f"never passed over: {', '.join(never_lost)}")
    detail = f" ({'; '.join(details)})" if details else ""
    return (
        "the comparisons do not link every method both ways, so some strength is "
        f"infinite and the maximum-likelihood estimate does not exist{detail}; "
        "pass pseudo_count > 0 to shrink towards equal strengths"
    )


def _resampled_strengths(
    choices: PairwiseChoices,
    prior: FloatArray,
    *,
    n_resamples: int,
    resampling: str,
    seed: int,
) -> FloatArray:
    """Return ``(n_resamples, K)`` log strengths refitted on every resample (NaN if none)."""
    n_methods = prior.shape[0]
    samples = np.empty((n_resamples, n_methods))
    done = 0
    for chunk in iter_resamples(
        resampling,
        n_participants=choices.n_participants,
        n_items=choices.n_items,
        n_answers=int(choices.winner.size),
        n_resamples=n_resamples,
        seed=seed,
        chunk_size=chunk_size_for(int(choices.winner.size), n_resamples),
    ):
        weights = chunk.answer_weights(choices.participant_code, choices.item_code)
        wins = win_matrix(choices.winner, choices.loser, choices.is_tie, n_methods, weights)
        theta, _, _ = fit_bradley_terry(wins + prior)
        samples[done : done + chunk.size] = theta
        done += chunk.size
    return samples

"""Benchmark the study statistics against the straightforward pandas way.

A simulated plausibility-rating study (full run: 2,000 participants, 5,000 items,
5 methods, each participant rating all 5 explanations of 100 items, so 1,000,000
answers and 40 ratings per explanation) goes through:

1. agreement: Krippendorff's alpha (interval) over explanations; peer: the
   ``krippendorff`` package on the dense participants x explanations array;
2. rank correlations of mean plausibility with a faithfulness score (Spearman and
   Kendall tau-b; all methods and per method) with 1,000 two-way cluster bootstrap
   resamples, and per-method mean ratings with the same resamples; peer: a pandas
   loop that, per resample, copies the drawn participants and items with
   ``merge``, averages with ``groupby`` and calls ``scipy.stats`` (the obvious
   implementation), on the very same draws, so the intervals must agree exactly.
   Ours is timed as the analysis service calls it: one call for both statistics
   (the resampled means computed and sorted once) and one for the method means;
   the table also shows each statistic in a call of its own, which repeats that
   shared work.

Run ``python -m bench.analysis`` (``--quick`` for a small smoke run;
``--peer-resamples N`` runs the pandas loop on the first N resamples only and
extrapolates its time linearly, saying so in the table).
"""

import argparse
import os
import time

import krippendorff
import numba
import numpy as np
import pandas as pd
import torch
from scipy import stats

from analysis.compute.agreement import krippendorff_alpha_long
from analysis.compute.answers import RatingAnswers
from analysis.compute.bootstrap import iter_resamples
from analysis.compute.correlation import plausibility_faithfulness_correlations
from analysis.compute.rank import _workers as rank_workers
from analysis.compute.ratings import method_mean_ratings


class Clock:
    """Wall-clock and CPU seconds of a block (CPU time is less disturbed by a busy machine)."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


FULL = {
    "participants": 2000,
    "items": 5000,
    "methods": 5,
    "per_participant": 100,
    "resamples": 1000,
}
QUICK = {"participants": 200, "items": 500, "methods": 5, "per_participant": 50, "resamples": 100}
METRIC = "comprehensiveness"


def simulate(
    n_participants: int, n_items: int, n_methods: int, per_participant: int, seed: int = 0
) -> tuple[RatingAnswers, np.ndarray]:
    """Return a crossed rating study where faithfulness, person and item all matter."""
    rng = np.random.default_rng(seed)
    rounds = n_participants * per_participant // n_items
    # Each participant gets distinct items; every item is rated by the same number of people.
    slots = np.concatenate([rng.permutation(n_items) for _ in range(rounds)])
    slots = slots.reshape(n_participants, per_participant)
    item = np.repeat(slots.ravel(), n_methods)
    method = np.tile(np.arange(n_methods), n_participants * per_participant)
    participant = np.repeat(np.arange(n_participants), per_participant * n_methods)
    explanation = item * n_methods + method
    faithfulness = (
        0.5 * rng.normal(size=n_items)[:, None] + rng.normal(size=(n_items, n_methods))
    ).ravel()
    latent = (
        4.0
        + 0.4 * faithfulness[explanation]
        + rng.normal(0, 0.3, n_methods)[method]
        + rng.normal(0, 0.7, n_participants)[participant]
        + rng.normal(0, 0.5, n_items)[item]
        + rng.normal(0, 1.0, item.size)
    )
    answers = RatingAnswers(
        participant=participant,
        explanation=explanation,
        rating=np.clip(np.round(latent), 1, 7),
        explanation_item=np.repeat(np.arange(n_items), n_methods),
        explanation_method=np.tile(np.arange(n_methods), n_items),
        method_names=tuple(f"method{k}" for k in range(n_methods)),
    )
    return answers, faithfulness


def pandas_loop(
    answers: RatingAnswers, faithfulness: np.ndarray, n_resamples: int, seed: int
) -> tuple[dict[tuple[str | None, str], np.ndarray], np.ndarray, tuple[float, float]]:
    """Return the resampled correlations and method means computed the obvious way.

    Also returns the (wall, CPU) seconds spent inside ``scipy.stats.kendalltau``.
    """
    frame = pd.DataFrame(
        {
            "participant": answers.participant_code,
            "item": answers.item_code,
            "explanation": answers.explanation,
            "method": answers.method,
            "rating": answers.rating,
        }
    )
    table = pd.DataFrame({"method": answers.explanation_method, "faithfulness": faithfulness})
    names = answers.method_names
    correlations: dict[tuple[str | None, str], list[float]] = {
        (scope, statistic): []
        for scope in (None, *names)
        for statistic in ("spearman", "kendall_tau_b")
    }
    means = []
    kendall_wall = kendall_cpu = 0.0
    for chunk in iter_resamples(
        "two_way",
        n_participants=answers.n_participants,
        n_items=answers.n_items,
        n_answers=answers.n_answers,
        n_resamples=n_resamples,
        seed=seed,
        chunk_size=1,
    ):
        drawn_participants = pd.DataFrame(
            {
                "participant": np.repeat(
                    np.arange(answers.n_participants), chunk.participant[0].astype(int)
                )
            }
        )
        drawn_items = pd.DataFrame(
            {"item": np.repeat(np.arange(answers.n_items), chunk.item[0].astype(int))}
        )
        drawn_items["copy"] = np.arange(len(drawn_items))
        resample = frame.merge(drawn_participants, on="participant").merge(drawn_items, on="item")
        per_explanation = (
            resample.groupby(["copy", "explanation"], sort=False)["rating"]
            .mean()
            .reset_index()
            .join(table, on="explanation")
        )
        groups = [(None, per_explanation)] + [
            (names[k], group) for k, group in per_explanation.groupby("method")
        ]
        for scope, group in groups:
            x, y = group["rating"].to_numpy(), group["faithfulness"].to_numpy()
            correlations[scope, "spearman"].append(stats.spearmanr(x, y).statistic)
            with Clock() as clock:
                correlations[scope, "kendall_tau_b"].append(stats.kendalltau(x, y).statistic)
            kendall_wall += clock.wall
            kendall_cpu += clock.cpu
        means.append(resample.groupby("method")["rating"].mean().to_numpy())
    arrays = {key: np.array(values) for key, values in correlations.items()}
    return arrays, np.array(means), (kendall_wall, kendall_cpu)


def run_ours(
    answers: RatingAnswers, faithfulness: np.ndarray, n_resamples: int, seed: int
) -> tuple[dict[str, Clock], tuple, tuple]:
    """Return the clocks of our steps and the bootstrap results.

    The correlations are timed as the service runs them, one call for both
    statistics (``both``: the resampled means are computed and sorted once), and
    again one call per statistic (``spearman``, ``kendall_tau_b``, each repeating
    that shared work) so the table can show the two apart.
    """
    # Numba compiles (or loads from its cache) the rank kernels on first use in a
    # process; that one-time cost is not the bootstrap's, so a small run goes first.
    small, small_scores = simulate(20, 50, 2, 10, seed=1)
    plausibility_faithfulness_correlations(small, {METRIC: small_scores}, n_resamples=20)
    clocks = {}
    with Clock() as clocks["agreement"]:
        krippendorff_alpha_long(answers.explanation, answers.rating, "interval")
    with Clock() as clocks["both"]:
        correlations = plausibility_faithfulness_correlations(
            answers, {METRIC: faithfulness}, n_resamples=n_resamples, seed=seed
        )
    for statistic in ("spearman", "kendall_tau_b"):
        with Clock() as clocks[statistic]:
            plausibility_faithfulness_correlations(
                answers,
                {METRIC: faithfulness},
                statistics=(statistic,),
                n_resamples=n_resamples,
                seed=seed,
            )
    with Clock() as clocks["means"]:
        means = method_mean_ratings(answers, n_resamples=n_resamples, seed=seed)
    return clocks, correlations, means


def largest_difference(correlations, means, loop_correlations, loop_means) -> float:
    """Return the largest difference between our interval ends and the loop's."""
    worst = 0.0
    for result in correlations:
        values = loop_correlations[result.method, result.statistic]
        values = values[np.isfinite(values)]
        ends = np.quantile(values, [0.025, 0.975])
        worst = max(worst, abs(result.ci.lower - ends[0]), abs(result.ci.upper - ends[1]))
    for k, result in enumerate(means):
        ends = np.quantile(loop_means[:, k], [0.025, 0.975])
        worst = max(worst, abs(result.ci.lower - ends[0]), abs(result.ci.upper - ends[1]))
    return worst


def threads_line(n_resamples: int) -> str:
    """Say how many threads each side uses: ours as the rank kernels decide, the loop one."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # macOS, Windows
        cores = os.cpu_count() or 1
    return (
        f"threads: ours {rank_workers(n_resamples)} for the rank kernels (the {cores} "
        f"core(s) this process may use, capped by NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}"
        f", at most one per 8 resamples); the pandas loop 1 (single-threaded)"
    )


def main() -> None:
    """Run the benchmark and print ours next to the peers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--peer-resamples",
        type=int,
        default=None,
        help="run the pandas loop on this many resamples and extrapolate (default: all)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    size = QUICK if args.quick else FULL
    n_resamples = size["resamples"]
    peer_resamples = min(args.peer_resamples or n_resamples, n_resamples)
    seed = 0
    answers, faithfulness = simulate(
        size["participants"], size["items"], size["methods"], size["per_participant"]
    )
    print(
        f"{answers.n_answers:,} answers: {answers.n_participants:,} participants, "
        f"{answers.n_items:,} items, {size['methods']} methods; "
        f"{n_resamples:,} two-way bootstrap resamples"
    )
    print(threads_line(n_resamples))

    clocks, correlations, means = run_ours(answers, faithfulness, n_resamples, seed)

    with Clock() as peer_agreement:
        dense = np.full((answers.n_participants, answers.n_explanations), np.nan)
        dense[answers.participant_code, answers.explanation] = answers.rating
        reference_alpha = krippendorff.alpha(
            reliability_data=dense, level_of_measurement="interval", value_domain=np.arange(1, 8)
        )
    ours_alpha = krippendorff_alpha_long(answers.explanation, answers.rating, "interval").alpha
    del dense

    with Clock() as peer_loop:
        loop_correlations, loop_means, (kendall_wall, kendall_cpu) = pandas_loop(
            answers, faithfulness, peer_resamples, seed
        )
    extrapolated = peer_resamples < n_resamples
    scale = n_resamples / peer_resamples

    if extrapolated:
        _, check_correlations, check_means = run_ours(answers, faithfulness, peer_resamples, seed)
    else:
        check_correlations, check_means = correlations, means
    difference = largest_difference(check_correlations, check_means, loop_correlations, loop_means)

    def both(*names: str) -> tuple[float, float]:
        return sum(clocks[n].wall for n in names), sum(clocks[n].cpu for n in names)

    mark = "*" if extrapolated else ""
    rows = [
        (
            "agreement: alpha (interval)",
            both("agreement"),
            (peer_agreement.wall, peer_agreement.cpu),
            "krippendorff 0.9, dense array",
        ),
        (
            "Spearman (own call) + means",
            both("spearman", "means"),
            ((peer_loop.wall - kendall_wall) * scale, (peer_loop.cpu - kendall_cpu) * scale),
            f"the loop without its kendalltau calls{mark}",
        ),
        (
            "Kendall tau-b (own call)",
            both("kendall_tau_b"),
            (kendall_wall * scale, kendall_cpu * scale),
            f"the loop's kendalltau calls{mark}",
        ),
        (
            "bootstrap, all of it",
            both("both", "means"),
            (peer_loop.wall * scale, peer_loop.cpu * scale),
            f"pandas merge/groupby loop{mark}",
        ),
    ]
    print()
    print(
        f"{'step':<29} {'ours s':>7} {'peer s':>7} {'ratio':>6}   "
        f"{'cpu: ours':>9} {'peer':>6} {'ratio':>6}  peer"
    )
    for name, (ours_wall, ours_cpu), (peer_wall, peer_cpu), label in rows:
        print(
            f"{name:<29} {ours_wall:7.2f} {peer_wall:7.2f} {peer_wall / ours_wall:5.1f}x   "
            f"{ours_cpu:9.2f} {peer_cpu:6.1f} {peer_cpu / ours_cpu:5.1f}x  {label}"
        )
    total_wall, total_cpu = both("agreement", "both", "means")
    print(f"{'all ours':<29} {total_wall:7.2f} {'':>7} {'':>6}   {total_cpu:9.2f}")
    if extrapolated:
        print(
            f"* the pandas loop ran {peer_resamples} of {n_resamples} resamples in "
            f"{peer_loop.wall:.1f} s; its times are extrapolated linearly to {n_resamples}"
        )
    print()
    print(f"alpha: ours {ours_alpha:.12f}, krippendorff {reference_alpha:.12f}")
    print(
        f"largest difference between our interval ends and the loop's on the same "
        f"{peer_resamples} resamples: {difference:.2e}"
    )
    overall = next(r for r in correlations if r.method is None and r.statistic == "spearman")
    print(
        f"Spearman, all methods: {overall.estimate:.4f} "
        f"[{overall.ci.lower:.4f}, {overall.ci.upper:.4f}] (bias {overall.ci.bias:+.4f})"
    )
    bootstrap_ratio = rows[-1][2][0] / rows[-1][1][0]
    verdict = "meets" if bootstrap_ratio >= 10 and total_wall < 60 else "misses"
    print(
        "ours: each resample's means sorted once for all scopes; Spearman mid-ranks and "
        "Kendall's Fenwick-tree count compiled (numba) on the cores; the loop: one thread"
    )
    scope = " (the target is set for the full run)" if args.quick else ""
    print(f"target (>= 10x the loop, < 60 s in all): {verdict}{scope}")


if __name__ == "__main__":
    main()

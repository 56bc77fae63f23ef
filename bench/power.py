"""Benchmark power by simulation against the brute-force way (MixedLM on every study).

Target (issue #16): 1,000 simulated studies of 200 participants in under a minute. The
design: 3 methods (gradient, lrp, random), 60 test instances in blocks of 20, so each
participant rates 20 explanations and each explanation is rated about 22 times (4,000
answers per study, 4,000,000 in all); ratings on a 1-7 scale.

Ours: :func:`analysis.compute.power.design_power` (vectorised simulation, moment
variance components and GLS Wald tests, :mod:`analysis.compute.crossed_wald`).
Peer: the same simulated studies fitted one by one with statsmodels' ``MixedLM`` (REML,
crossed variance components), the obvious implementation, on ``--peer-studies`` studies
(default 3) and extrapolated linearly to 1,000, which the table says. The peer's
p-values are printed beside ours for those studies.

Run ``python -m bench.power`` (``--quick`` for a smoke run of 100 studies).
"""

import argparse
import os
import time
import warnings

import numpy as np
from scipy import sparse
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

from analysis.compute.power import (
    FAITHFULNESS_TEST,
    OMNIBUS_TEST,
    PowerDesign,
    PowerModel,
    design_power,
    method_test,
    simulate_studies,
    study_p_values,
)

TARGET_SECONDS = 60.0
MODEL = PowerModel(
    method_names=("gradient", "lrp", "random"),
    reference_method="random",
    intercept=4.0,
    method_effects=(0.15, 0.08, 0.0),
    faithfulness_slope=0.08,
    faithfulness_mean=(0.0, 0.0, 0.0),
    faithfulness_sd=(1.0, 1.0, 1.0),
    sd_participant=0.5,
    sd_item=0.4,
    sd_residual=1.0,
    scale=(1, 7),
)
DESIGN = PowerDesign(n_participants=200, items_per_participant=20, n_items=60, n_methods=3)


class Clock:
    """Wall-clock and CPU seconds of a block (CPU time is less disturbed by a busy machine)."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def mixedlm_p_values(studies, s: int) -> dict[str, float]:
    """Fit study ``s`` with MixedLM as the analysis does; return the tests' p-values."""
    n = studies.participant.size
    score = studies.faithfulness[s, studies.explanation]
    method = studies.method
    exog = np.column_stack(
        [np.ones(n), score / score.std(), (method == 0).astype(float), (method == 1).astype(float)]
    )
    rows = np.arange(n)
    components = []
    for codes in (studies.participant, studies.item):
        count = int(codes.max()) + 1
        components.append(sparse.csr_array((np.ones(n), (rows, codes)), shape=(n, count)))
    vc = VCSpec(
        ["participant", "item"],
        [
            [[f"p{j}" for j in range(components[0].shape[1])]],
            [[f"i{j}" for j in range(components[1].shape[1])]],
        ],
        [[components[0]], [components[1]]],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = MixedLM(studies.rating[s], exog, groups=np.zeros(n), exog_vc=vc).fit(reml=True)
    p = np.asarray(fitted.pvalues)
    joint = fitted.wald_test(np.eye(len(p))[[2, 3]], scalar=True).pvalue
    return {
        FAITHFULNESS_TEST: float(p[1]),
        method_test("gradient", "random"): float(p[2]),
        method_test("lrp", "random"): float(p[3]),
        OMNIBUS_TEST: float(joint),
    }


def main() -> None:
    """Run ours on all studies and the peer on a few; print both against the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 studies instead of 1,000")
    parser.add_argument("--peer-studies", type=int, default=3, help="studies fitted by MixedLM")
    args = parser.parse_args()
    n_studies = 100 if args.quick else 1000
    participant, _, _ = DESIGN.arrays()
    print(
        f"{n_studies:,} simulated studies of {DESIGN.n_participants} participants x "
        f"{DESIGN.items_per_participant} items ({DESIGN.n_items} instances, "
        f"{DESIGN.n_methods} methods, {participant.size:,} answers each); "
        f"OMP/MKL threads: {os.environ.get('OMP_NUM_THREADS', 'default')}, cpus: {os.cpu_count()}"
    )
    with Clock() as ours:
        cell = design_power(MODEL, DESIGN, n_studies=n_studies, seed=0)
    studies = simulate_studies(MODEL, DESIGN, args.peer_studies, np.random.default_rng(7))
    fast = study_p_values(MODEL, studies)
    with Clock() as peer:
        brute = [mixedlm_p_values(studies, s) for s in range(args.peer_studies)]
    scale = n_studies / args.peer_studies
    print()
    print(f"{'':<44} {'wall s':>9} {'cpu s':>9}")
    print(f"{'ours: design_power (all studies)':<44} {ours.wall:9.2f} {ours.cpu:9.2f}")
    print(
        f"{f'peer: MixedLM per study, {args.peer_studies} x {scale:.0f}*':<44} "
        f"{peer.wall * scale:9.1f} {peer.cpu * scale:9.1f}"
    )
    print(f"* measured on {args.peer_studies} studies, extrapolated linearly to {n_studies:,}")
    print(f"speed-up (wall): {peer.wall * scale / ours.wall:.0f}x")
    print()
    print("power (Monte-Carlo se):")
    for test in cell.tests:
        print(f"  {test.test:<40} {test.power:.3f} ({test.mc_se:.3f})")
    print("p-values on the peer's studies, ours vs MixedLM:")
    for test in brute[0]:
        pairs = ", ".join(f"{fast[test][s]:.4f}/{brute[s][test]:.4f}" for s in range(len(brute)))
        print(f"  {test:<40} {pairs}")
    verdict = "met" if ours.wall < TARGET_SECONDS * n_studies / 1000 else "NOT met"
    print(f"target (1,000 studies of 200 participants < {TARGET_SECONDS:.0f} s): {verdict}")


if __name__ == "__main__":
    main()

"""Fast Wald tests of the crossed random-effects model, for many simulated studies at once.

The analysis fits ``rating ~ faithfulness + method + (1|participant) + (1|item)`` by REML
with statsmodels (:mod:`analysis.compute.mixed_model`) and reports Wald z tests of the
fixed effects. That takes about a second per study, far too slow for a power analysis
that needs thousands of studies. This module computes the same tests for a batch of
studies sharing one design (who rated which item with which method), in two steps:

1. **Variance components by the method of moments**: unbiased quadratic forms of the
   ordinary least-squares residuals, in the spirit of Henderson's (1953) method 1 and of
   Gao & Owen (2020) for crossed designs. With ``r`` the OLS residuals, three forms

   * ``q_t = sum_a r_a^2``,
   * ``q_p = sum_p (sum_{a in p} r_a)^2 / n_p`` (participant totals),
   * ``q_i = sum_i (sum_{a in i} r_a)^2 / n_i`` (item totals)

   have expectations ``E[r'Ar] = tr(A M V M)`` with ``M = I - H`` (``H`` the OLS hat
   matrix) and ``V = s2_e I + s2_p Z_p Z_p' + s2_i Z_i Z_i'``, which are linear in the
   three variances with coefficients computed exactly from the design and ``X`` (no
   balance assumed). Solving the 3x3 system gives unbiased estimates; a negative one is
   set to zero and the others re-solved (the boundary, as REML would put it). For
   balanced data without covariates these are the ANOVA estimators, which equal the
   REML estimates when positive (Searle, Casella & McCulloch 1992, ch. 6); the
   Latin-square lists the platform uses are balanced within each block.

2. **Generalised least squares with those components**, the estimator MixedLM reports
   once its variances are fitted: ``b = (X'V^-1 X)^-1 X'V^-1 y``, scale profiled as in
   REML ``s2 = (y - Xb)'V0^-1(y - Xb) / (n - k)`` with ``V = s2 V0``, and covariance
   ``s2 (X'V0^-1 X)^-1``. ``V0^-1`` is applied with the Woodbury identity; the
   ``(P + I)``-square core splits into the groups of participants and items linked by
   answers (the blocks of Latin-square lists), and within a group the diagonal
   participant (or item) part is eliminated, so each study needs only small dense
   solves on the smaller side of each group.

Wald statistics then follow exactly as statsmodels computes them: ``z = b / se`` with
normal p-values, and for several method contrasts together ``b' C^-1 b`` against
chi-square with as many degrees of freedom. Differences to MixedLM come only from
moment instead of REML variance estimates; for the tested effects (faithfulness and
method vary within participants and items) the GLS estimate hardly depends on them.
``tests/analysis/compute/test_power.py`` compares the decisions with MixedLM fitted
study by study.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats
from scipy.sparse.csgraph import connected_components

from analysis.compute.arrays import FloatArray, IntArray

# A residual variance below this is a perfect fit: nothing to test.
_TINY = 1e-12


@dataclass(frozen=True)
class CrossedDesign:
    """Who rated which item, shared by every study of a batch; built once by :meth:`build`.

    ``participant`` and ``item`` are dense codes per answer (``0..P-1``, ``0..I-1``).
    """

    participant: IntArray
    item: IntArray
    n_participants: int
    n_items: int
    participant_sums: sparse.csr_array  # (P, N) indicator: Z_p'
    item_sums: sparse.csr_array  # (I, N) indicator: Z_i'
    counts: FloatArray  # (P, I) answers per participant and item: Z_p'Z_i
    n_per_participant: FloatArray
    n_per_item: FloatArray
    # Groups of participants and items linked by answers (connected components).
    components: tuple[tuple[IntArray, IntArray], ...]

    @classmethod
    def build(cls, participant: IntArray, item: IntArray) -> "CrossedDesign":
        """Return the design of answers given by ``participant`` on ``item`` (dense codes)."""
        n = participant.size
        n_participants = int(participant.max()) + 1
        n_items = int(item.max()) + 1
        columns = np.arange(n)
        ones = np.ones(n)
        participant_sums = sparse.csr_array(
            (ones, (participant, columns)), shape=(n_participants, n)
        )
        item_sums = sparse.csr_array((ones, (item, columns)), shape=(n_items, n))
        counts = np.zeros((n_participants, n_items))
        np.add.at(counts, (participant, item), 1.0)
        graph = sparse.bmat([[None, sparse.csr_array(counts)], [sparse.csr_array(counts.T), None]])
        n_groups, label = connected_components(graph, directed=False)
        components = tuple(
            (
                np.flatnonzero(label[:n_participants] == g),
                np.flatnonzero(label[n_participants:] == g),
            )
            for g in range(n_groups)
        )
        return cls(
            participant=participant,
            item=item,
            n_participants=n_participants,
            n_items=n_items,
            participant_sums=participant_sums,
            item_sums=item_sums,
            counts=counts,
            n_per_participant=counts.sum(axis=1),
            n_per_item=counts.sum(axis=0),
            components=components,
        )


@dataclass(frozen=True)
class WaldBatch:
    """Fixed effects and their covariance for a batch of ``B`` studies.

    ``estimate`` is ``(B, k)``, ``covariance`` ``(B, k, k)``; ``variances`` is ``(B, 3)``:
    the moment estimates of the participant, item and residual variances.
    """

    estimate: FloatArray
    covariance: FloatArray
    variances: FloatArray

    def z(self, column: int) -> FloatArray:
        """Return the Wald z statistic of one coefficient in every study (NaN if undefined)."""
        se = np.sqrt(self.covariance[:, column, column])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(se > 0, self.estimate[:, column] / se, np.nan)

    def p_value(self, column: int) -> FloatArray:
        """Return the two-sided normal p-value of one coefficient, as statsmodels reports it."""
        return np.asarray(2.0 * stats.norm.sf(np.abs(self.z(column))), dtype=np.float64)

    def joint_p_value(self, columns: list[int]) -> FloatArray:
        """Return the Wald chi-square p-value that all ``columns`` are zero together."""
        b = self.estimate[:, columns]
        c = self.covariance[:, columns][:, :, columns]
        statistic = np.full(b.shape[0], np.nan)
        good = np.all(np.isfinite(c), axis=(1, 2)) & np.all(np.isfinite(b), axis=1)
        if good.any():
            try:
                solved = np.linalg.solve(c[good], b[good][:, :, None])[:, :, 0]
                statistic[good] = np.einsum("bk,bk->b", b[good], solved)
            except np.linalg.LinAlgError:
                # A study whose contrasts are not estimable together (a singular covariance,
                # e.g. a method no participant saw) has no joint test: NaN, as statsmodels'
                # wald_test fails there; the others are solved one by one.
                for row in np.flatnonzero(good):
                    try:
                        x = np.linalg.solve(c[row], b[row])
                    except np.linalg.LinAlgError:
                        continue
                    statistic[row] = float(b[row] @ x)
        return np.asarray(stats.chi2.sf(statistic, df=len(columns)), dtype=np.float64)


def crossed_wald(design: CrossedDesign, exog: FloatArray, rating: FloatArray) -> WaldBatch:
    """Return GLS fixed effects with moment variance components for a batch of studies.

    ``exog`` is ``(B, N, k)``, the fixed-effect design of each study (intercept first),
    ``rating`` ``(B, N)``. Method and references in the module docstring.
    """
    b, n, k = exog.shape
    if rating.shape != (b, n) or design.participant.size != n:
        raise ValueError(
            f"rating: expected shape {(b, n)} matching exog and the design, got {rating.shape}"
        )
    gram = np.einsum("bnk,bnl->bkl", exog, exog)
    inverse = np.linalg.inv(gram)
    ols = np.einsum("bkl,bl->bk", inverse, np.einsum("bnk,bn->bk", exog, rating))
    residual = rating - np.einsum("bnk,bk->bn", exog, ols)
    variances = _moment_variances(design, exog, inverse, residual)
    estimate, covariance = _gls(design, exog, rating, variances)
    return WaldBatch(estimate=estimate, covariance=covariance, variances=variances)


def _group_sums(indicator: sparse.csr_array, values: FloatArray) -> FloatArray:
    """Return ``indicator @ values`` for ``values`` of shape ``(B, N, ...)`` as ``(B, G, ...)``."""
    b, n = values.shape[:2]
    rest = values.shape[2:]
    flat = np.moveaxis(values, 1, 0).reshape(n, -1)
    summed = np.asarray(indicator @ flat)
    return np.moveaxis(summed.reshape(indicator.shape[0], b, *rest), 0, 1)


def _moment_variances(
    design: CrossedDesign, exog: FloatArray, inverse: FloatArray, residual: FloatArray
) -> FloatArray:
    """Return ``(B, 3)`` moment estimates of (participant, item, residual) variances."""
    n = residual.shape[1]
    n_p, n_i = design.n_per_participant, design.n_per_item
    counts = design.counts
    xp = _group_sums(design.participant_sums, exog)  # (B, P, k): Z_p'X
    xi = _group_sums(design.item_sums, exog)  # (B, I, k): Z_i'X
    rp = _group_sums(design.participant_sums, residual)  # (B, P)
    ri = _group_sums(design.item_sums, residual)  # (B, I)
    q = np.stack(
        [
            np.einsum("bn,bn->b", residual, residual),
            np.einsum("bp,bp,p->b", rp, rp, 1.0 / n_p),
            np.einsum("bi,bi,i->b", ri, ri, 1.0 / n_i),
        ],
        axis=1,
    )
    # X'AX for A = I, A_p, A_i and X'V_cX for V_c = I, Z_pZ_p', Z_iZ_i'.
    xx = np.einsum("bnk,bnl->bkl", exog, exog)
    xpp = np.einsum("bpk,bpl->bkl", xp, xp)
    xii = np.einsum("bik,bil->bkl", xi, xi)
    xax = [
        xx,
        np.einsum("bpk,bpl,p->bkl", xp, xp, 1.0 / n_p),
        np.einsum("bik,bil,i->bkl", xi, xi, 1.0 / n_i),
    ]
    xvx = [xx, xpp, xii]
    # X'V_c A X, indexed [A][V_c].
    linked = np.matmul(counts[None, :, :], xi / n_i[None, :, None])  # (B, P, k): Nmat Λi^-1 Xi
    cross_pi = np.einsum("bpk,bpl->bkl", xp, linked)  # X'Z_pZ_p'A_iX
    linked = np.matmul(counts.T[None, :, :], xp / n_p[None, :, None])  # (B, I, k)
    cross_ip = np.einsum("bik,bil->bkl", xi, linked)  # X'Z_iZ_i'A_pX
    xvax = [
        [xax[0], xpp, xii],
        [xax[1], xpp, cross_ip],
        [xax[2], cross_pi, xii],
    ]
    squares = counts**2
    trace_av = np.array(
        [
            [n, n, n],
            [design.n_participants, n, float((squares.sum(axis=1) / n_p).sum())],
            [design.n_items, float((squares.sum(axis=0) / n_i).sum()), n],
        ]
    )
    coefficients = np.empty((residual.shape[0], 3, 3))
    for a in range(3):
        for c in range(3):
            # tr(A M V_c M) = tr(A V_c) - 2 tr(G X'V_c A X) + tr(G X'V_c X G X'A X).
            coefficients[:, a, c] = (
                trace_av[a, c]
                - 2.0 * np.einsum("bkl,blk->b", inverse, xvax[a][c])
                + np.einsum("bkl,blm,bmn,bnk->b", inverse, xvx[c], inverse, xax[a])
            )
    # Columns of ``coefficients``: residual, participant, item; reorder on return.
    solved = np.linalg.solve(coefficients, q[:, :, None])[:, :, 0]
    bad = np.any(solved < 0, axis=1) | ~np.all(np.isfinite(solved), axis=1)
    for s in np.flatnonzero(bad):
        solved[s] = _nonnegative(coefficients[s], q[s])
    return np.ascontiguousarray(solved[:, [1, 2, 0]])


def _nonnegative(coefficients: FloatArray, q: FloatArray) -> FloatArray:
    """Return the best moment solution with the random-effect variances kept at or above 0.

    The residual variance is always estimated; each subset of the two random-effect
    variances is tried and the admissible one closest in least squares kept.
    """
    best, best_loss = np.array([max(q[0] / coefficients[0, 0], 0.0), 0.0, 0.0]), np.inf
    for keep in ([0, 1], [0, 2], [0]):
        try:
            part = np.linalg.lstsq(coefficients[:, keep], q, rcond=None)[0]
        except np.linalg.LinAlgError:
            continue
        if np.any(part < 0):
            continue
        full = np.zeros(3)
        full[keep] = part
        loss = float(np.sum((coefficients @ full - q) ** 2))
        if loss < best_loss:
            best, best_loss = full, loss
    return best


def _gls(
    design: CrossedDesign, exog: FloatArray, rating: FloatArray, variances: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Return GLS estimates and covariances given (participant, item, residual) variances."""
    b, n, k = exog.shape
    residual = np.maximum(variances[:, 2], _TINY)
    gamma_p = variances[:, 0] / residual
    gamma_i = variances[:, 1] / residual
    data = np.concatenate([exog, rating[:, :, None]], axis=2)  # W = [X, y]
    wp = _group_sums(design.participant_sums, data)  # (B, P, k+1)
    wi = _group_sums(design.item_sums, data)  # (B, I, k+1)
    # W'V0^-1 W = W'W - U'K^-1 U with U = Z~'W; K is block diagonal over the groups of
    # participants and items that share no answers (the blocks of Latin-square lists).
    quadratic = np.einsum("xnk,xnl->xkl", data, data)
    for participants, items in design.components:
        quadratic -= _core(
            wp[:, participants],
            wi[:, items],
            design.counts[np.ix_(participants, items)],
            gamma_p,
            gamma_i,
        )
    xvx = quadratic[:, :k, :k]
    xvy = quadratic[:, :k, k]
    inverse = np.linalg.inv(xvx)
    estimate = np.einsum("xkl,xl->xk", inverse, xvy)
    rss = quadratic[:, k, k] - np.einsum("xk,xk->x", estimate, xvy)
    scale = np.maximum(rss, 0.0) / (n - k)
    return estimate, scale[:, None, None] * inverse


def _core(
    wp: FloatArray, wi: FloatArray, counts: FloatArray, gamma_p: FloatArray, gamma_i: FloatArray
) -> FloatArray:
    """Return ``U'K^-1 U`` of one group of participants and items, for every study.

    ``K = [[D_a, B], [B', D_b]]`` with ``D_a = 1 + g_a n_a`` diagonal and ``B = sqrt(g_a
    g_b) counts``; the larger side is eliminated (Schur complement), so the dense system
    is the smaller side.
    """
    n_p, n_i = counts.sum(axis=1), counts.sum(axis=0)
    if counts.shape[0] >= counts.shape[1]:
        big, small, gamma_big, gamma_small, n_big, n_small, link = (
            wp,
            wi,
            gamma_p,
            gamma_i,
            n_p,
            n_i,
            counts,
        )
    else:
        big, small, gamma_big, gamma_small, n_big, n_small, link = (
            wi,
            wp,
            gamma_i,
            gamma_p,
            n_i,
            n_p,
            counts.T,
        )
    d_big = 1.0 + gamma_big[:, None] * n_big[None, :]  # (B, A)
    ua = np.sqrt(gamma_big)[:, None, None] * big
    ub = np.sqrt(gamma_small)[:, None, None] * small
    coupling = np.sqrt(gamma_big * gamma_small)
    scaled = ua / d_big[:, :, None]
    t = ub - coupling[:, None, None] * np.matmul(link.T[None, :, :], scaled)
    # link' D_a^-1 link as a batched matrix product (BLAS), not an einsum loop.
    schur = np.matmul(link.T[None, :, :] / d_big[:, None, :], link)
    schur *= -(coupling**2)[:, None, None]
    diagonal = np.arange(small.shape[1])
    schur[:, diagonal, diagonal] += 1.0 + gamma_small[:, None] * n_small[None, :]
    solved = np.linalg.solve(schur, t)
    core: FloatArray = np.einsum("xak,xal->xkl", ua, scaled) + np.einsum("xbk,xbl->xkl", t, solved)
    return core

"""Rank correlations with frequency weights, vectorised over bootstrap resamples.

A resample of the two-way bootstrap is the original data with each element repeated
``w`` times (``w`` a whole number, possibly 0). These functions compute Spearman's
rho and Kendall's tau-b of that repeated data exactly, without building it:

* weighted mid-ranks: an element of value ``v`` and weight ``w`` gets the rank its
  copies would share in the repeated data, ``W_< + (W_= + 1) / 2``, where ``W_<``
  is the total weight of smaller values and ``W_=`` of values equal to ``v``
  (ties averaged, as ``scipy.stats.rankdata(method="average")``);
* Spearman's rho is Pearson's correlation of the mid-ranks with weights ``w``
  (Spearman 1904; ties as in Kendall & Gibbons 1990, ch. 3);
* Kendall's tau-b, ``(n_0 - n_1 - n_2 + n_3 - 2 n_d) / sqrt((n_0 - n_1)(n_0 - n_2))``
  (Kendall 1945; the form of ``scipy.stats.kendalltau``), where ``n_0`` counts all
  pairs, ``n_1`` / ``n_2`` those tied in x / y, ``n_3`` those tied in both and
  ``n_d`` the discordant ones, each pair weighted by the product of its two
  elements' weights (a group of tied elements of total weight ``t`` holds
  ``t (t - 1) / 2`` tied pairs, copies of one element included). ``n_d`` is
  counted in ``O(n log n)`` per resample, Knight's (1966) method with a Fenwick
  tree in place of the merge sort: elements in y order, each adds the weight of
  earlier elements (smaller y) with larger x. Integer counts, so the result is
  exact up to the final division.

Both need each row of x in sorted order, the costly part: :func:`row_order` sorts
rows on the cores, :func:`group_orders` splits that order by method, and both take
an order with a subset of the columns (one method's explanations), so the callers
sort each resample's means once for every scope, metric and statistic. Both are
compiled with Numba and spread resamples over threads (``NUMBA_NUM_THREADS`` caps
them; by default, the cores).

Undefined values (a constant variable, fewer than two elements) are NaN here; the
callers turn them into None with a reason.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from analysis.compute.arrays import FloatArray, IntArray
from explanations.compute.jit import kernel

# A sum of squares below this fraction of (W^3 - W) counts as zero (a constant variable).
_RELATIVE_ZERO = 1e-12


def _workers(n_rows: int) -> int:
    """Return how many threads to spread ``n_rows`` over.

    The cores this process may use, at most ``NUMBA_NUM_THREADS`` (Numba's thread
    setting, which an operator can lower for a server running several workers).
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # macOS, Windows
        cores = os.cpu_count() or 1
    cores = min(cores, int(getattr(numba.config, "NUMBA_NUM_THREADS", cores)))
    return max(1, min(cores, n_rows // 8))


def _spread(function: Callable[[int, int], None], n_rows: int) -> None:
    """Call ``function(start, stop)`` on blocks of rows covering ``n_rows``, one thread each."""
    workers = _workers(n_rows)
    bounds = np.linspace(0, n_rows, workers + 1).astype(np.int64)
    if workers == 1:
        function(0, n_rows)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(function, int(bounds[k]), int(bounds[k + 1])) for k in range(workers)
        ]
        for future in futures:
            future.result()


def row_order(x: FloatArray) -> IntArray:
    """Return ``np.argsort(x, axis=1)`` (NaN last), rows sorted on several threads."""
    order = np.empty(x.shape, dtype=np.intp)

    def sort(start: int, stop: int) -> None:
        order[start:stop] = np.argsort(x[start:stop], axis=1)

    _spread(sort, x.shape[0])
    return order


def group_orders(order: IntArray, group_of: IntArray, n_groups: int) -> list[IntArray]:
    """Return, for each group, the row order of its columns, from the row order of all.

    ``group_of[e]`` is column ``e``'s group (``0 <= g < n_groups``). Entry ``g`` of
    the result is (rows x columns of ``g``): column indices in the order ``order``
    puts them. One stable sort of small integer labels per row (NumPy's radix sort)
    instead of sorting each group's values again.
    """
    if n_groups > np.iinfo(np.int16).max:
        raise ValueError(f"at most {np.iinfo(np.int16).max} groups, got {n_groups}")
    labels = group_of.astype(np.int16)[order]
    grouped = np.take_along_axis(order, np.argsort(labels, axis=1, kind="stable"), axis=1)
    bounds = np.r_[0, np.cumsum(np.bincount(group_of, minlength=n_groups))]
    return [np.ascontiguousarray(grouped[:, bounds[g] : bounds[g + 1]]) for g in range(n_groups)]


def weighted_spearman(
    x: FloatArray,
    y: FloatArray,
    weights: FloatArray,
    x_order: IntArray | None = None,
    columns: IntArray | None = None,
) -> FloatArray:
    """Return Spearman's rho of each row of ``x`` with ``y`` under frequency ``weights``.

    ``x`` and ``weights`` are (resamples x elements), ``weights`` whole numbers
    (multiplicities), ``y`` one vector shared by all rows; NaN in ``x`` is allowed
    where the weight is 0. Equals ``scipy.stats.spearmanr`` on the data with each
    element repeated ``weights`` times; NaN where a repeated variable is constant or
    empty. ``columns``: use only these elements (``x[:, columns]`` with
    ``y[columns]``) without copying them out. ``x_order``: the row order of ``x`` if
    known (:func:`row_order`), or of any set of its columns that holds ``columns``
    (:func:`group_orders`). Raises ValueError for a fractional or negative weight, a
    NaN in ``x`` with a positive weight, or an ``x_order`` that misses a column.

    Formula, with ``W`` the total weight of a row and ``t_g`` the total weight of
    each group of tied values: the mid-ranks average ``(W + 1) / 2`` and
    ``sum w (r - r_bar)^2 = (W^3 - W - sum_g (t_g^3 - t_g)) / 12`` (the tie correction,
    Kendall & Gibbons 1990, eq. 3.7), so only the cross term ``sum w r_x r_y`` needs
    the ranks: ``rho = (sum w r_x r_y - W r_bar^2) / sqrt(S_xx S_yy)``.
    """
    return _Prepared(x, y, weights, x_order, columns).run(_spearman_rows)


def weighted_kendall_tau_b(
    x: FloatArray,
    y: FloatArray,
    weights: FloatArray,
    x_order: IntArray | None = None,
    columns: IntArray | None = None,
) -> FloatArray:
    """Return Kendall's tau-b of each row of ``x`` with ``y`` under frequency ``weights``.

    Arguments, result and errors as for :func:`weighted_spearman`; also raises
    ValueError if a row's total weight reaches ``2^31`` (its pair counts would
    overflow). Equals ``scipy.stats.kendalltau(variant="b")`` on the repeated data.
    Formula in the module docstring.
    """
    return _Prepared(x, y, weights, x_order, columns).run(_kendall_rows)


# Codes the kernels set per row for the inputs they refuse, and what they mean.
_PROBLEMS = {
    1: "weights: expected whole, non-negative numbers (multiplicities)",
    2: "x: NaN where the weight is positive (only unweighted elements may be missing)",
    3: "x_order: does not hold every column in use (pass the order of x or of a superset)",
    4: "weights: a row's total weight reaches 2^31; its pair counts would overflow",
}


class _Prepared:
    """The arrays both kernels take: x, its row order, membership, y order and tie groups."""

    def __init__(
        self,
        x: FloatArray,
        y: FloatArray,
        weights: FloatArray,
        x_order: IntArray | None,
        columns: IntArray | None,
    ) -> None:
        """Check shapes and arrange the arrays (y is sorted once, x once per row if needed)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or weights.shape != x.shape or y.shape != (x.shape[1],):
            raise ValueError(
                f"expected x and weights of one shape (resamples x elements) and y with one "
                f"value per element; got {x.shape}, {weights.shape} and {y.shape}"
            )
        columns = np.arange(x.shape[1]) if columns is None else np.asarray(columns)
        member = np.full(x.shape[1], -1, dtype=np.int64)
        member[columns] = np.arange(columns.size)
        y_columns = y[columns]
        if not np.all(np.isfinite(y_columns)):
            raise ValueError("y: expected finite values in the columns in use")
        y_rank = np.argsort(y_columns, kind="stable")
        y_sorted = y_columns[y_rank]
        y_order = columns.astype(np.int64)[y_rank]  # elements in y order
        y_group = np.cumsum(np.r_[True, y_sorted[1:] != y_sorted[:-1]]).astype(np.int64)
        order = row_order(x) if x_order is None else x_order
        if order.ndim != 2 or order.shape[0] != x.shape[0]:
            raise ValueError(f"x_order: expected one row per row of x, got {order.shape}")
        order = np.ascontiguousarray(order, dtype=np.int64)
        self.n_rows = x.shape[0]
        self.arrays = (x, order, member, y_order, y_group, weights)

    def run(self, rows_kernel: Callable[..., None]) -> FloatArray:
        """Run a kernel over all rows on the threads; return its statistic per row."""
        values = np.full(self.n_rows, np.nan)
        problem = np.zeros(self.n_rows, dtype=np.int8)

        def run(start: int, stop: int) -> None:
            rows_kernel(*self.arrays, values, problem, start, stop)

        _spread(run, self.n_rows)
        if problem.any():
            raise ValueError(_PROBLEMS[int(problem[np.flatnonzero(problem)[0]])])
        # Rounding can put a perfect correlation a hair outside [-1, 1].
        clipped: FloatArray = np.clip(values, -1.0, 1.0)
        return clipped


@kernel()
def _weighted_members(
    x: FloatArray,
    x_order: IntArray,
    member: IntArray,
    weights: FloatArray,
    b: int,
    n: int,
    sorted_members: IntArray,
    counts: IntArray,
) -> tuple[int, int]:
    """Collect row ``b``'s weighted elements in x order; return (how many, problem code).

    ``sorted_members`` receives the elements of positive weight in x order and
    ``counts[e]`` every element's whole-number weight. The problem code is 0, or a
    key of :data:`_PROBLEMS`.
    """
    seen = 0
    m = 0
    for p in range(x_order.shape[1]):
        e = x_order[b, p]
        if member[e] < 0:
            continue
        seen += 1
        w = weights[b, e]
        whole = int(w)
        if whole != w or whole < 0:
            return m, 1
        counts[e] = whole
        if whole == 0:
            continue
        if np.isnan(x[b, e]):
            return m, 2
        sorted_members[m] = e
        m += 1
    if seen != n:
        return m, 3
    return m, 0


@kernel()
def _spearman_rows(
    x: FloatArray,
    x_order: IntArray,
    member: IntArray,
    y_order: IntArray,
    y_group: IntArray,
    weights: FloatArray,
    rho: FloatArray,
    problem: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """Write rho of rows ``start`` to ``stop`` into ``rho`` (left NaN where undefined).

    Elements are the columns ``e`` with ``member[e] >= 0``; ``y_order`` lists them
    in y order and ``y_group`` numbers their y tie groups in that order. A refused
    row gets its code in ``problem`` (:data:`_PROBLEMS`).
    """
    n = y_order.size
    sorted_members = np.empty(n, dtype=np.int64)
    counts = np.zeros(x.shape[1], dtype=np.int64)
    x_rank = np.zeros(x.shape[1])
    for b in range(start, stop):
        m, code = _weighted_members(x, x_order, member, weights, b, n, sorted_members, counts)
        if code:
            problem[b] = code
            continue
        # x: mid-ranks per tie group.
        before = 0.0
        x_ties = 0.0
        p = 0
        while p < m:
            value = x[b, sorted_members[p]]
            group = float(counts[sorted_members[p]])
            q = p + 1
            while q < m and x[b, sorted_members[q]] == value:
                group += counts[sorted_members[q]]
                q += 1
            middle = before + (group + 1.0) / 2.0
            for a in range(p, q):
                x_rank[sorted_members[a]] = middle
            x_ties += group * group * group - group
            before += group
            p = q
        total = before
        # y: mid-ranks per tie group in the fixed y order; the cross term.
        before = 0.0
        y_ties = 0.0
        cross = 0.0
        p = 0
        while p < n:
            q = p
            group = 0.0
            while q < n and y_group[q] == y_group[p]:
                group += counts[y_order[q]]
                q += 1
            middle = before + (group + 1.0) / 2.0
            for a in range(p, q):
                e = y_order[a]
                if counts[e] > 0:
                    cross += counts[e] * x_rank[e] * middle
            y_ties += group * group * group - group
            before += group
            p = q
        no_ties = total * total * total - total
        s_xx = (no_ties - x_ties) / 12.0
        s_yy = (no_ties - y_ties) / 12.0
        if s_xx > _RELATIVE_ZERO * no_ties and s_yy > _RELATIVE_ZERO * no_ties:
            half = (total + 1.0) / 2.0
            rho[b] = (cross - total * half * half) / np.sqrt(s_xx * s_yy)


@kernel()
def _kendall_rows(
    x: FloatArray,
    x_order: IntArray,
    member: IntArray,
    y_order: IntArray,
    y_group: IntArray,
    weights: FloatArray,
    tau: FloatArray,
    problem: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """Write tau-b of rows ``start`` to ``stop`` into ``tau`` (left NaN where undefined).

    Elements are the columns ``e`` with ``member[e] >= 0``; ``y_order`` lists them
    in y order and ``y_group`` numbers their y tie groups in that order. A refused
    row gets its code in ``problem`` (:data:`_PROBLEMS`).
    """
    n = y_order.size
    sorted_members = np.empty(n, dtype=np.int64)
    counts = np.zeros(x.shape[1], dtype=np.int64)
    rank = np.zeros(x.shape[1], dtype=np.int64)
    tree = np.zeros(n + 1, dtype=np.int64)
    joint = np.zeros(n + 1, dtype=np.int64)
    for b in range(start, stop):
        m, code = _weighted_members(x, x_order, member, weights, b, n, sorted_members, counts)
        if code:
            problem[b] = code
            continue
        # Dense ranks of x (1-based) and the pairs tied in x.
        distinct = 0
        x_ties = 0
        total_weight = 0
        p = 0
        while p < m:
            value = x[b, sorted_members[p]]
            distinct += 1
            group = 0
            q = p
            while q < m and x[b, sorted_members[q]] == value:
                rank[sorted_members[q]] = distinct
                group += counts[sorted_members[q]]
                q += 1
            x_ties += group * (group - 1) // 2
            total_weight += group
            p = q
        if total_weight >= 2**31:
            problem[b] = 4
            continue
        # Walk the elements in y order, one tie group at a time: query, then insert.
        tree[: distinct + 1] = 0
        inserted = 0
        discordant = 0
        y_ties = 0
        both_ties = 0
        p = 0
        while p < n:
            q = p
            while q < n and y_group[q] == y_group[p]:
                q += 1
            group_weight = 0
            for a in range(p, q):
                e = y_order[a]
                w = counts[e]
                if w <= 0:
                    continue
                group_weight += w
                below = 0  # inserted weight with an x rank <= this one's
                k = rank[e]
                while k > 0:
                    below += tree[k]
                    k -= k & -k
                discordant += w * (inserted - below)
                joint[rank[e]] += w
            y_ties += group_weight * (group_weight - 1) // 2
            for a in range(p, q):
                e = y_order[a]
                w = counts[e]
                if w <= 0:
                    continue
                t = joint[rank[e]]
                both_ties += t * (t - 1) // 2
                joint[rank[e]] = 0  # each (x, y) value counted once
                k = rank[e]
                while k <= distinct:
                    tree[k] += w
                    k += k & -k
                inserted += w
            p = q
        total = inserted * (inserted - 1) // 2
        if total - x_ties <= 0 or total - y_ties <= 0:
            continue
        numerator = total - x_ties - y_ties + both_ties - 2 * discordant
        tau[b] = numerator / np.sqrt(float(total - x_ties)) / np.sqrt(float(total - y_ties))

"""Coerce and check the plain arrays that every statistic takes as input.

Each function raises :class:`ValueError` naming the argument and what was expected,
so a caller that turned database rows into arrays learns which column was wrong.
"""

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]


def index_array(name: str, values: ArrayLike, *, bound: int | None = None) -> IntArray:
    """Return ``values`` as a 1-d int64 array of indices in ``[0, bound)``.

    Raise ``ValueError`` naming ``name`` if the values are not whole numbers, are
    negative or reach ``bound``.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of indices, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind == "b" or array.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected integer indices, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError(f"{name}: expected whole-number indices, found a fraction or NaN")
    result = array.astype(np.int64)
    if result.min() < 0:
        raise ValueError(f"{name}: indices must be >= 0, found {int(result.min())}")
    if bound is not None and result.max() >= bound:
        raise ValueError(f"{name}: indices must be < {bound}, found {int(result.max())}")
    return result


def float_array(name: str, values: ArrayLike, *, allow_nan: bool = False) -> FloatArray:
    """Return ``values`` as a 1-d float64 array; reject infinities and, unless allowed, NaN."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of numbers, got shape {array.shape}")
    if np.any(np.isinf(array)):
        raise ValueError(f"{name}: infinite values are not allowed")
    if not allow_nan and np.any(np.isnan(array)):
        raise ValueError(f"{name}: missing (NaN) values are not allowed")
    return array


def bool_array(name: str, values: ArrayLike) -> BoolArray:
    """Return ``values`` as a 1-d bool array; accept bools or 0/1 numbers only."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of booleans, got shape {array.shape}")
    if array.dtype.kind == "b":
        return array.astype(np.bool_)
    if array.size and (array.dtype.kind not in "iuf" or not np.all((array == 0) | (array == 1))):
        raise ValueError(f"{name}: expected booleans (or 0/1)")
    return array.astype(np.bool_)


def same_length(**arrays: NDArray[np.generic]) -> int:
    """Return the common length of ``arrays`` or raise ``ValueError`` listing the lengths."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"arrays must have the same length, got {listed}")
    return next(iter(lengths.values()), 0)


def dense_codes(values: IntArray) -> tuple[IntArray, int]:
    """Return ``values`` renumbered ``0..k-1`` in sorted order of the originals, and ``k``.

    Used so that only participants or items that actually answered count as clusters.
    """
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), int(uniques.size)


def check_names(name: str, names: tuple[str, ...], bound: int) -> None:
    """Raise ``ValueError`` unless ``names`` has at least ``bound`` distinct entries."""
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: names must be distinct, got {names}")
    if len(names) < bound:
        raise ValueError(f"{name}: {len(names)} names given but index {bound - 1} is used")

"""Numba compilation for the element-wise kernels, cached where the machine allows.

Kernels are compiled on first use (a few seconds) and cached on disk, beside the
source or in the user's cache folder (``NUMBA_CACHE_DIR`` chooses another), so later
processes load them in a fraction of a second. Where no folder is writable (a
read-only container whose user has no writable home), Numba cannot cache: the
kernel is then compiled once per process instead of the import failing. Every
kernel releases the GIL, so worker threads run them in parallel.
"""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

Function = TypeVar("Function", bound=Callable[..., Any])


def kernel(*, fastmath: bool = False) -> Callable[[Function], Function]:
    """Return a decorator compiling a function with Numba (nogil, cached if possible)."""

    def compile_(function: Function) -> Function:
        try:
            compiled = njit(nogil=True, fastmath=fastmath, cache=True)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            compiled = njit(nogil=True, fastmath=fastmath)(function)
        return cast(Function, compiled)

    return compile_

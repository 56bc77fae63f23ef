"""Compiled kernels: cached where possible, and still compiled where no cache can be written."""

import pytest
from numba import njit

from explanations.compute.jit import kernel


def test_a_kernel_without_a_cache_location_is_compiled_anyway():
    """Code without a source file stands for a read-only install: Numba finds no cache
    locator; the kernel must compile per process instead of failing at import."""
    namespace: dict = {}
    exec("def add(a, b):\n    return a + b\n", namespace)  # noqa: S102 - no source file on purpose
    with pytest.raises(RuntimeError, match="no locator"):
        njit(cache=True)(namespace["add"])
    compiled = kernel()(namespace["add"])
    assert compiled(2, 3) == 5

"""The prefetch hint of the batch kernels (theses.engine.prefetch)."""

from __future__ import annotations

import platform

import numpy as np
import pytest


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="checks the x86 instruction")
def test_the_batch_kernel_is_compiled_with_prefetches_and_the_prefetch_reads_nothing_wrong():
    """The intrinsic reaches the machine code (a prefetch LLVM dropped would leave no trace), and a kernel
    that prefetches past the row it reads, into the next rows, returns what it reads."""
    from numba import njit

    from theses.engine.prefetch import prefetch_nb

    @njit
    def sum_with_prefetch(values):
        total = 0.0
        for row in range(values.shape[0]):
            prefetch_nb(values, row, 3 * values.strides[0])
            total += values[row, 0]
        return total

    values = np.arange(40.0).reshape(10, 4)
    assert sum_with_prefetch(values[:7]) == float(values[:7, 0].sum())
    assert sum_with_prefetch(values.astype(np.float32)[:7]) == float(values[:7, 0].sum())
    assembly = "\n".join(sum_with_prefetch.inspect_asm().values())
    assert "prefetcht0" in assembly

    from theses.engine import kernels

    # The helper compiled alone, and here: one loaded from numba's cache has no assembly to inspect.
    helper = njit(kernels.prefetch_ahead_nb.py_func)
    helper(values, 0, 2)
    assert "prefetcht0" in "\n".join(helper.inspect_asm().values())


def test_the_interpreted_kernels_prefetch_nothing():
    """The interpreted twin never imports numba for the hint: its prefetch is a plain function that does nothing."""
    from theses import util

    twin = util.interpreted_twin("theses.engine.kernels")
    assert twin.prefetch_nb(np.zeros((2, 2)), 0, 0) is None
    assert not hasattr(twin.prefetch_nb, "py_func")

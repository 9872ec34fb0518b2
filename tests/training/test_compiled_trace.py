"""Compiled training helpers: the fixed-order gradient tree sum."""

import numpy as np
import pytest

pytest.importorskip("numba")


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 7, 16, 31, 32, 33])
def test_compiled_tree_sum_is_bit_for_bit_the_communicators_tree_sum(count):
    """The sweep's gradient sum must add in the fixed tree order (MPI bit-exactness)."""
    from spikehooks.communicators.tree import tree_sum
    from spikehooks.training._backward_kernel import tree_sum_rows

    rng = np.random.default_rng(count)
    # Magnitudes 1e-8 .. 1e7: any other grouping of the additions rounds differently.
    parts = rng.normal(size=(count + 2, 9)) * 10.0 ** rng.integers(-8, 8, (count + 2, 9))
    out = np.full(9, np.nan)
    tree_sum_rows(parts.copy(), count, out)
    np.testing.assert_array_equal(out, tree_sum(parts[:count]))
    if count >= 16:
        # The grouping matters for these numbers: adding row after row differs somewhere.
        sequential = parts[0].copy()
        for row in parts[1:count]:
            sequential += row
        assert not np.array_equal(out, sequential)

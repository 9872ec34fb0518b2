"""Compiled training helpers: incremental jump terms, the fixed-order gradient tree sum."""

import numpy as np
import pytest

pytest.importorskip("numba")


def test_jump_terms_updated_in_place_equal_jump_terms_filled_afresh():
    """The trace recorder rewrites only what changed since the last batch: same arrays."""
    from spikehooks.training._trace_kernel import jump_terms, update_jump_terms

    rng = np.random.default_rng(9)
    shape = (30, 4, 7)
    cur, den = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    spk = np.zeros(shape, bool)
    args = tuple(np.full(shape[2], v, np.float32) for v in (0.7, 0.9, 0.1))  # per neuron
    # Batches in a row, as in training: denser, sparser, denser, silent.
    for density in (0.3, 0.05, 0.6, 0.0):
        mask = rng.uniform(size=shape) < density
        isyn = rng.normal(size=shape).astype(np.float32)
        v_end = rng.normal(size=shape).astype(np.float32)
        want_cur, want_den = np.full(shape, 7.0, np.float32), np.full(shape, 7.0, np.float32)
        jump_terms(mask, isyn, v_end, *args, want_cur, want_den)
        update_jump_terms(mask, isyn, v_end, *args, cur, den, spk)
        np.testing.assert_array_equal(spk, mask)
        np.testing.assert_array_equal(cur, want_cur)
        np.testing.assert_array_equal(den, want_den)
        assert not want_cur[~mask].any()


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

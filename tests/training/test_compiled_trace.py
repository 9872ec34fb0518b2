"""The trace recorder's incremental jump terms equal the terms filled afresh."""

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
    args = (np.float32(0.7), np.float32(0.9), np.float32(0.1))
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

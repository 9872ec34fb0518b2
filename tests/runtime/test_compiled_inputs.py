"""The compiled backend flattens SpikeInput batches exactly as the NumPy backend does."""

import numpy as np
import pytest

from spikehooks.backends.numpy_backend._backend import _batch_spike_times
from spikehooks.data import preprocess_spikes

pytest.importorskip("numba")


@pytest.mark.parametrize(("real", "batch_size"), [(1, 1), (3, 5), (7, 7), (0, 2)])
def test_batch_spike_times_match_the_numpy_backend(real, batch_size):
    from spikehooks.backends.compiled_backend._inputs import batch_spike_times

    rng = np.random.default_rng(real * 10 + batch_size)
    examples = []
    for _ in range(real):
        count = int(rng.integers(0, 30))
        examples.append(preprocess_spikes(np.sort(rng.uniform(0.0, 20.0, count)),
                                          rng.integers(0, 6, count), 6))
    expected = _batch_spike_times(examples, batch_size, 6)
    got = batch_spike_times(examples, batch_size, 6)
    for a, b in zip(expected, got, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # Every neuron's run ends in the inf sentinel its pointer leads to.
    assert np.isinf(got[0]).sum() == batch_size * 6

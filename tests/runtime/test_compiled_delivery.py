"""The compiled delivery adds several weight rows per pass: sums must stay row by row.

Many inputs fire in the same step here (every count from 0 to 64, so every
remainder of the four-rows-per-pass loop occurs), with weights of mixed
magnitudes, whose float32 sums change with the order of the additions.
"""

import numpy as np
import pytest

from spikehooks import InferenceCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire

pytest.importorskip("numba")


def _readouts(backend, x, weights_in, weights_out):
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 64)
        hidden = Layer(Dense(weights_in), LeakyIntegrateFire(v_thresh=3.0, readout="sum_var"), 33)
        out = Layer(Dense(weights_out), LeakyIntegrate(readout="sum_var"), 5)
    compiled = InferenceCompiler(25, batch_size=3, backend=backend).compile(network)
    with compiled:
        predictions, _ = compiled.predict({inp: x}, [hidden, out], callbacks=[])
    return predictions[hidden], predictions[out]


def test_many_spikes_per_step_sum_as_the_numpy_backend_does():
    rng = np.random.default_rng(5)
    # Example k fires about k/8 of its inputs every step: 0 to 64 rows per delivery.
    x = (rng.uniform(0.0, 1.0, (9, 64)) < np.linspace(0.0, 1.0, 9)[:, None]).astype(np.float32)
    x *= rng.uniform(1.0, 2.0, x.shape).astype(np.float32)
    # Mixed magnitudes: a different order of additions would round differently.
    w_in = (rng.normal(0.0, 1.0, (64, 33)) * 10.0 ** rng.integers(-4, 2, (64, 33)))
    w_out = rng.normal(0.0, 0.5, (33, 5))
    numpy_result = _readouts("numpy", x, w_in.astype(np.float32), w_out.astype(np.float32))
    compiled_result = _readouts(("compiled", {"num_threads": 1}), x,
                                w_in.astype(np.float32), w_out.astype(np.float32))
    for a, b in zip(numpy_result, compiled_result, strict=True):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    # The output sees the hidden layer fire (not a silent net).
    assert np.abs(compiled_result[1]).max() > 0

"""e-prop on the compiled backend: the NumPy backend's e-prop, in compiled code.

The compiled backend simulates a batch in one numba call, bit for bit as the
NumPy backend does, and numba kernels compute e-prop's factors from its
trace with the NumPy recorder's operations.  Only ``exp`` (the softmax of
cross-entropy) may round differently in the last bit, so every batch's
gradients agree to ``1e-12`` of their largest value; over several batches
of Adam steps a last-bit difference may move a float32 weight by one ulp,
so trained weights agree to ``1e-5`` (docs/eprop.md).  Mean square error
has no ``exp``: there the two agree bit for bit.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from _eprop_nets import N_OUT, make, raster, to_spikes

from spikehooks.backends.compiled_backend import CompiledBackend
from spikehooks.backends.numpy_backend import NumpyBackend

pytest.importorskip("numba")

STEPS = 40


class _Keep:
    def __init__(self, compiled):
        self.compiled, self.grads = compiled, []

    def on_batch_end(self, batch, metrics):
        self.grads.append(dict(self.compiled.last_gradients))


def _train(backend, categorical, epochs=3, **kwargs):
    spikes = to_spikes(raster(21, STEPS, 7))
    targets = (np.arange(7) % N_OUT if categorical
               else np.random.default_rng(2).normal(0.0, 1.0, (7, STEPS, N_OUT)))
    compiled, (inp, hid, out), _ = make(categorical=categorical, batch_size=3, c_reg=1.0,
                                        optimiser=("adam", {"alpha": 0.01}), backend=backend,
                                        **kwargs)
    keep = _Keep(compiled)
    with compiled:
        compiled.train({inp: spikes}, {out: targets}, num_epochs=epochs, shuffle=True,
                       callbacks=[keep])
        state = compiled.state_dict()
        kind = type(compiled.backend)
    return keep.grads, state, kind


@pytest.mark.parametrize("categorical, adaptive", [(True, False), (False, False),
                                                   (True, True), (False, True)])
def test_compiled_e_prop_gives_the_numpy_backends_gradients(categorical, adaptive):
    grads_c, state_c, kind_c = _train("compiled", categorical, adaptive=adaptive)
    grads_n, state_n, kind_n = _train("numpy", categorical, adaptive=adaptive)
    assert (kind_c, kind_n) == (CompiledBackend, NumpyBackend)
    assert len(grads_c) == len(grads_n) == 9
    for got_batch, want_batch in zip(grads_c, grads_n, strict=True):
        for key, want in want_batch.items():
            scale = np.abs(want).max()
            assert scale > 0.01
            np.testing.assert_allclose(got_batch[key], want, rtol=0, atol=1e-12 * scale)
    for key, want in state_n["learnable"].items():
        got = state_c["learnable"][key]
        if categorical:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got, want, err_msg=key)
    for key, want in state_n["eprop_carry"]["traces"].items():
        got = state_c["eprop_carry"]["traces"][key]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=key)


def test_compiled_e_prop_does_not_depend_on_the_thread_count():
    from spikehooks.backends.compiled_backend._numba import max_threads

    if max_threads() < 2:
        pytest.skip("numba sees one core: nothing to compare")
    one = _train(("compiled", {"num_threads": 1}), True, epochs=2)
    two = _train(("compiled", {"num_threads": 2}), True, epochs=2)
    for got, want in zip(two[0], one[0], strict=True):
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    for key, want in one[1]["eprop_carry"]["traces"].items():
        np.testing.assert_array_equal(two[1]["eprop_carry"]["traces"][key], want)


def test_by_default_e_prop_trains_on_the_compiled_backend_adaptive_neurons_too(caplog):
    compiled, _, _ = make()
    assert type(compiled.backend) is CompiledBackend
    assert not compiled.eprop.needs_observer   # the kernel's trace, no per-step reads
    with caplog.at_level(logging.WARNING, logger="spikehooks"):
        adaptive, _, _ = make(adaptive=True)
    # The compiled backend has adaptive neurons and their e-prop factors: no fallback.
    assert type(adaptive.backend) is CompiledBackend
    assert not adaptive.eprop.needs_observer
    assert not any("cannot run this network" in r.getMessage() for r in caplog.records)

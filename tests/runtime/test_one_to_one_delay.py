"""``OneToOne(weight, delay)``: mlGeNN's per-pair delays, the same as a diagonal ``Dense``."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import ConfigurationError, Connection, InferenceCompiler, Network, Population
from spikehooks.backends.genn_backend._plan import make_plan
from spikehooks.connectivity import Dense, OneToOne
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Uniform
from spikehooks.neurons import LeakyIntegrate, SpikeInput
from spikehooks.synapses import Exponential
from spikehooks_recorders import VarRecorder

N = 5
STEPS = 12
WEIGHT = np.array([0.5, -0.25, 1.0, 0.75, 2.0], dtype=np.float32)
DELAY = np.array([0, 3, 1, 5, 2])


def _run(connectivity, backend="numpy", max_delay_steps=None):
    net = Network()
    with net:
        inp = Population(SpikeInput(), N, name="inp")
        out = Population(LeakyIntegrate(tau_mem=10.0, readout="sum_var"), N, name="out")
        conn = Connection(inp, out, connectivity, Exponential(2.0),
                          max_delay_steps=max_delay_steps)
    # Every input neuron spikes at steps 1 and 4.
    spikes = preprocess_spikes(np.repeat([1.0, 4.0], N), np.tile(np.arange(N), 2), N)
    compiled = InferenceCompiler(STEPS, backend=backend, rng_seed=2).compile(net)
    with compiled:
        _, cb = compiled.evaluate({inp: [spikes]}, {out: np.zeros((1, N))},
                                  metrics="mean_square_error",
                                  callbacks=[VarRecorder(out, "v", key="v")])
        delays = compiled.backend.get_delays(conn)
    return np.asarray(cb["v"][0]), delays, net


@pytest.mark.parametrize("backend", ["numpy", None])
def test_per_pair_delays_match_a_diagonal_dense_connection(backend):
    one, delays, _ = _run(OneToOne(WEIGHT, DELAY), backend)
    dense, _, _ = _run(Dense(np.diag(WEIGHT), delay=np.diag(DELAY)), backend)
    np.testing.assert_array_equal(one, dense)
    np.testing.assert_array_equal(np.diagonal(delays), DELAY)
    # The input arrives 1 + delay steps after each spike: neuron i is still at rest
    # at step 1 + DELAY[i] and moves in the step after it.
    for i, d in enumerate(DELAY):
        assert one[1 + d, i] == 0.0 and one[2 + d, i] != 0.0


def test_one_delay_for_every_pair_and_drawn_delays():
    shared, delays, _ = _run(OneToOne(WEIGHT, 2))
    dense, _, _ = _run(Dense(np.diag(WEIGHT), delay=2))
    np.testing.assert_array_equal(shared, dense)
    assert np.all(np.diagonal(delays) == 2)
    _, drawn, net = _run(OneToOne(WEIGHT, Uniform(0.0, 4.0)), max_delay_steps=4)
    diagonal = np.diagonal(drawn)
    assert drawn.dtype == np.int32 and diagonal.min() >= 0 and diagonal.max() <= 4
    assert not np.any(drawn[~np.eye(N, dtype=bool)])
    # The GeNN backend's plan draws the same delays.
    plan = make_plan(net, batch_size=1, dt=1.0, num_timesteps=STEPS, rng_seed=2,
                     genn_backend="single_threaded_cpu")
    np.testing.assert_array_equal(plan.connections[0].delays, drawn)


def test_a_delay_array_of_the_wrong_length_is_refused():
    with pytest.raises(ConfigurationError, match=r"delay"):
        _run(OneToOne(WEIGHT, np.arange(N + 1)))


def _trained_hidden_weights(make_connectivity):
    from spikehooks.compilers import EventPropCompiler
    from spikehooks.compilers.event_prop_compiler import default_params
    from spikehooks.neurons import LeakyIntegrateFire

    rng = np.random.default_rng(5)
    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=100), N)
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), N)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 2)
        first = Connection(inp, hid, make_connectivity(), Exponential(5.0), max_delay_steps=6)
        Connection(hid, out, Dense(rng.normal(0.0, 0.5, (N, 2))), Exponential(5.0))
    labels = rng.integers(0, 2, 8)
    x = [preprocess_spikes(np.sort(rng.uniform(0, 20, 20)).round(), rng.integers(0, N, 20), N)
         for _ in labels]
    compiled = EventPropCompiler(40, "sparse_categorical_crossentropy", batch_size=4,
                                 backend="numpy").compile(net)
    with compiled:
        compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
        return compiled.backend.get_weight(first)


def test_eventprop_trains_the_pairs_as_a_diagonal_dense_connection():
    # A Dense connection whose off-diagonal weights are 0 runs the same forward pass,
    # so its diagonal gets OneToOne's gradients and Adam steps.
    weight = np.full(N, 3.0, dtype=np.float32)
    one = _trained_hidden_weights(lambda: OneToOne(weight, DELAY))
    dense = _trained_hidden_weights(lambda: Dense(np.diag(weight), delay=np.diag(DELAY)))
    assert np.any(np.diagonal(one) != weight)
    np.testing.assert_allclose(np.diagonal(one), np.diagonal(dense), rtol=1e-6, atol=1e-7)
    assert not np.any(one[~np.eye(N, dtype=bool)])

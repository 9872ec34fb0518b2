"""Synaptic delays on the compiled backend: the NumPy backend's results bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.compilers import EventPropCompiler
from spikehooks.compilers.event_prop_compiler import default_params
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.data import preprocess_spikes
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Delta, Exponential

pytest.importorskip("numba")

STEPS = 60


def _network(synapse="exponential"):
    """Delays on dense, sparse and recurrent connections, exponential or delta synapses."""
    def syn():
        return Exponential(5.0) if synapse == "exponential" else Delta()

    # A delta synapse's jump of V is (1 - alpha) w: larger weights keep the layer firing.
    gain = 1.0 if synapse == "exponential" else 20.0

    net = Network(default_params)
    with net:
        inp = Population(SpikeInput(max_spikes=400), 20, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 16, name="hid",
                         record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 3, name="out")
        Connection(inp, hid, FixedProbability(0.7, Normal(mean=gain, sd=gain / 2),
                                              delay=Uniform(0.0, 9.0)),
                   syn(), max_delay_steps=9)
        Connection(hid, hid, Dense(Normal(mean=0.0, sd=0.3 * gain), delay=Uniform(0.0, 5.0)), syn(),
                   max_delay_steps=5)
        Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5), delay=3), syn())
    return net, inp, hid, out


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = [preprocess_spikes(rng.uniform(0, 40, 30), rng.integers(0, 6, 30) * 3 + lab,
                           20) for lab in labels]
    return x, labels


@pytest.mark.parametrize("synapse", ["exponential", "delta"])
@pytest.mark.parametrize("threads", [1, 2])
def test_inference_with_delays_equals_the_numpy_backend_bit_for_bit(synapse, threads):
    from spikehooks_recorders import SpikeRecorder

    x, labels = _data()

    def run(backend):
        net, inp, hid, out = _network(synapse)
        compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4,
                                     backend=backend).compile(net)
        with compiled:
            assert compiled.backend.name == (backend if isinstance(backend, str)
                                             else backend[0])
            rec = SpikeRecorder(hid, key="spikes")
            _, cb = compiled.evaluate({inp: x}, {out: labels}, callbacks=[rec])
            readout = compiled.predict({inp: x}, [out])[0][out]
        return readout, cb["spikes"]

    expected, spikes = run("numpy")
    got, got_spikes = run(("compiled", {"num_threads": threads}))
    times, ids = spikes  # mlGeNN's layout: per example, spike times and neuron ids
    assert sum(len(t) for t in times) > 50  # the hidden layer fires
    assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    for got_part, part in zip(got_spikes, spikes, strict=True):
        for a, b in zip(got_part, part, strict=True):
            np.testing.assert_array_equal(a, b)


def test_step_by_step_equals_one_run_with_delays():
    x, _ = _data(4)

    def readout(stepwise):
        net, inp, _, out = _network()
        compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4,
                                     backend="compiled").compile(net)
        with compiled:
            compiled.start_batch(np.arange(4), {inp: x})
            if stepwise:
                for _ in range(STEPS):
                    compiled.backend.step()
            else:
                compiled.backend.run(STEPS)
            return compiled.backend.get_readout(out).copy()

    assert readout(True).tobytes() == readout(False).tobytes()


@pytest.mark.parametrize("batch_size", [1, 4])
def test_eventprop_training_with_delays_equals_the_numpy_backend_bit_for_bit(batch_size):
    x, labels = _data(12)

    def train(backend):
        net, inp, _, out = _network()
        compiled = EventPropCompiler(example_timesteps=STEPS,
                                     losses="sparse_categorical_crossentropy",
                                     optimiser=("adam", {"alpha": 0.02}), batch_size=batch_size,
                                     backend=backend, rng_seed=1).compile(net)
        with compiled:
            metrics, _ = compiled.train({inp: x}, {out: labels}, num_epochs=2, callbacks=[])
            return compiled.backend.get_learnable_state(), compiled.epoch_loss

    expected, loss = train("numpy")
    got, got_loss = train(("compiled", {"num_threads": 2}))
    assert got_loss == loss
    for key, value in expected.items():
        assert got[key].tobytes() == value.tobytes(), key


def test_changed_delays_reach_the_kernel():
    """set_delays between runs (as learned delays do): both backends stay bit for bit equal."""
    x, _ = _data(4)
    rng = np.random.default_rng(5)
    new = [rng.integers(0, 10, (20, 16)), rng.integers(0, 6, (16, 16))]

    def readout(backend):
        net, inp, _, out = _network()
        compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4,
                                     backend=backend).compile(net)
        values = []
        with compiled:
            for change in (False, True):
                if change:
                    for conn, delays in zip(net.connections[:2], new, strict=True):
                        compiled.backend.set_delays(conn, delays)
                compiled.start_batch(np.arange(4), {inp: x})
                compiled.backend.run(STEPS)
                values.append(compiled.backend.get_readout(out).copy())
        return values

    before, after = readout("numpy")
    got_before, got_after = readout("compiled")
    assert before.tobytes() != after.tobytes()
    assert got_before.tobytes() == before.tobytes() and got_after.tobytes() == after.tobytes()


@pytest.mark.parametrize("initial", ["drawn", "none"])
def test_learned_delays_train_bit_for_bit_like_the_numpy_backend(initial):
    """delay_learn_conns on the compiled backend (a connection without delays gets its ring
    when the compiler gives it learned delays)."""
    x, labels = _data(12)

    def train(backend):
        net = Network(default_params)
        with net:
            inp = Population(SpikeInput(max_spikes=400), 20)
            hid = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 16)
            out = Population(LeakyIntegrate(tau_mem=20.0, readout="avg_var"), 3)
            delay = Uniform(0.0, 6.0) if initial == "drawn" else 0
            c_in = Connection(inp, hid, Dense(Normal(mean=1.0, sd=0.5), delay=delay),
                              Exponential(5.0), max_delay_steps=8)
            c_out = Connection(hid, out, Dense(Normal(mean=0.0, sd=0.5)), Exponential(5.0),
                               max_delay_steps=4)
        compiled = EventPropCompiler(example_timesteps=STEPS,
                                     losses="sparse_categorical_crossentropy",
                                     optimiser=("adam", {"alpha": 0.02}),
                                     delay_optimiser=("adam", {"alpha": 0.5}), batch_size=4,
                                     backend=backend, delay_learn_conns=[c_in, c_out],
                                     rng_seed=2).compile(net)
        with compiled:
            compiled.train({inp: x}, {out: labels}, num_epochs=2, callbacks=[])
            return compiled.state_dict(), compiled.backend.name

    expected, name = train("numpy")
    got, got_name = train(("compiled", {"num_threads": 2}))
    assert (name, got_name) == ("numpy", "compiled")
    for part in ("learnable", "delays"):
        for key, value in expected[part].items():
            assert got[part][key].tobytes() == value.tobytes(), (part, key)
    moved = expected["delays"]["conn1/delay"]
    assert np.abs(moved).max() > 0.5  # the delays did move

"""The compiled backend agrees with the NumPy backend bit for bit, and refuses bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _batch_spikes import SpikesAtBatchEnd
from _exact import assert_same
from _golden import ProtocolRecorder

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.connectivity import Dense, FixedProbability, OneToOne
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import (
    IntegrateFire,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    PoissonInput,
    SpikeInput,
)
from spikehooks.synapses import Exponential

pytest.importorskip("numba")

STEPS = 20


def _network(poisson: bool = True):
    """Every built-in model, synapse, connectivity and readout the kernel has."""
    net = Network()
    with net:
        frames = Population(IntegrateFireInput(v_thresh=2.0, input_frames=2,
                                               input_frame_timesteps=6), 12,
                            record_spikes=True, name="frames")
        spikes = Population(SpikeInput(max_spikes=500), 6, record_spikes=True, name="spikes")
        lif = Population(LeakyIntegrateFire(v_thresh=0.6, tau_mem=10.0, tau_refrac=2.0,
                                            relative_reset=True, integrate_during_refrac=False,
                                            scale_i=True, readout="spike_count"),
                         40, record_spikes=True, name="lif")
        Connection(frames, lif, Dense(Normal(0.3, 0.4)), Exponential(4.0, scale_i=True))
        Connection(spikes, lif, FixedProbability(0.5, Normal(0.4, 0.3)), Exponential(6.0))
        if poisson:
            rates = Population(PoissonInput(), 7, record_spikes=True, name="rates")
            Connection(rates, lif, Dense(Normal(0.2, 0.3)))
        fire = Population(IntegrateFire(v_thresh=0.8, readout="first_spike_time"), 33,
                          record_spikes=True, name="fire")
        Connection(spikes, fire, Dense(Normal(0.3, 0.3)))
        refr = Population(LeakyIntegrateFire(v_thresh=0.5, tau_mem=15.0, tau_refrac=1.0), 40,
                          record_spikes=True, name="refr")
        Connection(lif, refr, OneToOne(Normal(0.6, 0.2)), Exponential(3.0))
        avg = Population(LeakyIntegrate(bias=0.05, tau_mem=10.0, scale_i=True,
                                        readout="avg_var"), 5, name="avg")
        Connection(lif, avg, Dense(Normal(0.0, 0.3)))
        Connection(fire, avg, FixedProbability(0.6, Normal(0.0, 0.3)))
        peak = Population(LeakyIntegrate(readout="max_var"), 3, name="peak")
        Connection(refr, peak, Dense(Normal(0.0, 0.3)), Exponential(5.0))
        total = Population(LeakyIntegrate(readout="sum_var"), 4, name="total")
        Connection(fire, total, Dense(Normal(0.0, 0.2)))
    pops = {p.name: p for p in net.populations}
    return net, pops


def _inputs(pops, num: int, poisson: bool = True):
    rng = np.random.default_rng(3)
    x = {pops["frames"]: rng.uniform(0.0, 1.0, (num, 2, 12)).astype(np.float32),
         pops["spikes"]: [preprocess_spikes(np.sort(rng.uniform(0, STEPS, 15)).round(),
                                            rng.integers(0, 6, 15), 6) for _ in range(num)]}
    if poisson:
        x[pops["rates"]] = rng.uniform(0.0, 0.3, (num, 7)).astype(np.float32)
    return x


def _run(backend, batch_size, *, poisson=True, step_mode=False, num=7):
    net, pops = _network(poisson)
    spiking = [p for p in net.populations if p.record_spikes]
    readouts = [pops[n] for n in ("lif", "fire", "avg", "peak", "total")]
    compiled = InferenceCompiler(STEPS, batch_size=batch_size, rng_seed=11,
                                 backend=backend).compile(net)
    if step_mode:
        variables = [(f"{p.name}_{v}", p, v) for p in net.populations if not p.neuron.is_input
                     for v in p.neuron.get_var_names()]
        callback = ProtocolRecorder(spikes=spiking, variables=variables, readouts=readouts)
    else:
        callback = SpikesAtBatchEnd(spiking)
    with compiled:
        predictions, data = compiled.predict(_inputs(pops, num, poisson), readouts,
                                             callbacks=[callback])
        weights = compiled.backend.get_learnable_state()
    return predictions, data, weights


def _names(predictions):
    return {p.name: v for p, v in predictions.items()}


@pytest.mark.parametrize("step_mode", [False, True])
def test_compiled_and_numpy_backends_agree_bit_for_bit(step_mode):
    expected = _run("numpy", 3, step_mode=step_mode)
    got = _run(("compiled", {"num_threads": 1}), 3, step_mode=step_mode)
    assert_same(_names(got[0]), _names(expected[0]))
    assert_same(got[1], expected[1])
    assert_same(got[2], expected[2])
    # The network is not silent: the comparison means something.
    spikes = got[1]["protocol" if step_mode else "spikes"]
    spikes = spikes["spikes"] if step_mode else spikes
    assert sum(len(t) for t, _ in spikes["lif"]) > 20
    assert sum(len(t) for t, _ in spikes["refr"]) > 5
    assert sum(len(t) for t, _ in spikes["rates"]) > 5


@pytest.mark.parametrize("batch_size,threads", [(1, 1), (4, 2), (7, 2), (3, 1)])
def test_results_do_not_depend_on_batch_size_or_threads(batch_size, threads):
    reference = _run("numpy", 2, poisson=False)
    got = _run(("compiled", {"num_threads": threads}), batch_size, poisson=False)
    assert_same(_names(got[0]), _names(reference[0]))
    assert_same(got[1], reference[1])


def test_recording_windows_shorter_than_the_batch_match_numpy():
    def run(backend):
        net, pops = _network(poisson=False)
        compiled = InferenceCompiler(STEPS, batch_size=2, num_recording_timesteps=6,
                                     backend=backend).compile(net)
        bits = []
        with compiled:
            compiled.set_input(_inputs(pops, 2, poisson=False))
            for t in range(STEPS):
                compiled.step_time()
                if compiled.backend.recording_window_ready(t):
                    compiled.backend.pull_recording_buffers()
                    bits.append(compiled.backend.get_spike_bits(pops["fire"]))
        return bits

    expected, got = run("numpy"), run("compiled")
    assert [start for start, _ in got] == [0, 6, 12, 18]
    assert_same(got, expected)


@pytest.mark.parametrize("value", [0, -2, 1.5, "2", True, None.__class__])
def test_thread_count_must_be_a_positive_int(value):
    net, _ = _network(poisson=False)
    with pytest.raises(ConfigurationError,
                       match=r"compiled backend num_threads must be an int >= 1; got"):
        InferenceCompiler(STEPS, backend=("compiled", {"num_threads": value})).compile(net)


def test_thread_count_above_the_cores_is_refused():
    import numba

    net, _ = _network(poisson=False)
    too_many = numba.config.NUMBA_NUM_THREADS + 1
    with pytest.raises(ConfigurationError, match="num_threads must be at most"):
        InferenceCompiler(STEPS, backend=("compiled", {"num_threads": too_many})).compile(net)


def test_unknown_backend_option_is_refused_naming_the_known_ones():
    net, _ = _network(poisson=False)
    with pytest.raises(ConfigurationError, match=r"options must be among \['num_threads'\]; "
                                                 r"got \['accumulation'\]"):
        InferenceCompiler(STEPS, backend=("compiled", {"accumulation": "blas"})).compile(net)


def test_default_backend_is_compiled_when_numba_is_installed():
    net, _ = _network(poisson=False)
    compiled = InferenceCompiler(STEPS).compile(net)
    assert compiled.backend.name == "compiled"
    assert compiled.backend.num_threads >= 1


def test_a_second_process_loads_the_kernels_from_the_disk_cache():
    code = (
        "import sys; sys.path.insert(0, 'tests/runtime'); sys.path.insert(0, 'tests')\n"
        "import test_compiled_backend as t\n"
        "t._run(('compiled', {'num_threads': 1}), 2, poisson=False)\n"
        "from spikehooks.backends.compiled_backend._kernels import run_steps_serial as k\n"
        "print(len(k.stats.cache_hits), len(k.stats.cache_misses))\n"
    )
    for _ in range(2):  # the first process may compile; the second must not
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
    hits, misses = map(int, out.stdout.split()[-2:])
    assert (hits, misses) == (1, 0)


def test_a_model_without_a_compiled_kernel_is_refused_naming_it():
    from spikehooks.neurons import Neuron

    class Custom(Neuron):
        def get_var_names(self):
            return {"v": "V"}

    net = Network()
    with net:
        src = Population(SpikeInput(), 3, name="src")
        odd = Population(Custom(), 2, name="odd")
        Connection(src, odd, Dense(1.0))
    with pytest.raises(ConfigurationError, match=r"population 'odd' has neuron model Custom\. "
                                                 r"The NumPy backend runs"):
        InferenceCompiler(5, backend="compiled").compile(net)


def test_without_numba_the_default_is_the_numpy_backend_with_one_log_line(monkeypatch, caplog):
    from spikehooks.backends import _default
    from spikehooks.backends.compiled_backend import _numba

    monkeypatch.setattr(_numba, "numba_available", lambda: False)
    _default.default_backend_name.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="spikehooks.backends"):
            net, _ = _network(poisson=False)
            first = InferenceCompiler(STEPS).compile(net)
            second = InferenceCompiler(STEPS, batch_size=2).compile(net)
    finally:
        _default.default_backend_name.cache_clear()
    assert first.backend.name == second.backend.name == "numpy"
    lines = [r.getMessage() for r in caplog.records if r.name == "spikehooks.backends"]
    assert len(lines) == 1 and "numba is not installed" in lines[0]


def _per_neuron_network(relative_reset):
    """Every parameter the kernel reads given per neuron: arrays and initializers."""
    rng = np.random.default_rng(5)
    net = Network()
    with net:
        frames = Population(IntegrateFireInput(v_thresh=rng.uniform(0.5, 2.0, 12),
                                               v_reset=Uniform(-0.2, 0.0), input_frames=2,
                                               input_frame_timesteps=6), 12, name="frames")
        spikes = Population(SpikeInput(max_spikes=500), 6, name="spikes")
        lif = Population(LeakyIntegrateFire(v_thresh=rng.uniform(0.4, 0.9, 30),
                                            v_reset=rng.uniform(-0.1, 0.1, 30),
                                            tau_mem=Uniform(5.0, 30.0),
                                            tau_refrac=rng.uniform(0.0, 3.0, 30),
                                            relative_reset=relative_reset, scale_i=True,
                                            readout="spike_count"),
                         30, record_spikes=True, name="lif")
        Connection(frames, lif, Dense(Normal(0.3, 0.4)),
                   Exponential(rng.uniform(2.0, 8.0, 30), scale_i=True))
        Connection(spikes, lif, FixedProbability(0.5, Normal(0.4, 0.3)),
                   Exponential(rng.uniform(2.0, 8.0, 30)))
        fire = Population(IntegrateFire(v_thresh=np.linspace(0.5, 1.2, 9),
                                        v_reset=np.linspace(-0.3, 0.0, 9),
                                        readout="first_spike_time"), 9, name="fire")
        Connection(spikes, fire, Dense(Normal(0.3, 0.3)))
        out = Population(LeakyIntegrate(bias=rng.uniform(0.0, 0.1, 5),
                                        tau_mem=rng.uniform(5.0, 25.0, 5), scale_i=True,
                                        readout="avg_var"), 5, name="out")
        Connection(lif, out, Dense(Normal(0.0, 0.3)), Exponential(rng.uniform(2.0, 8.0, 5)))
        Connection(fire, out, Dense(Normal(0.0, 0.3)))
    return net, {p.name: p for p in net.populations}


@pytest.mark.parametrize("relative_reset", [False, True])
def test_per_neuron_parameters_run_compiled_bit_for_bit_as_numpy(relative_reset):
    def run(backend):
        net, pops = _per_neuron_network(relative_reset)
        readouts = [pops[n] for n in ("lif", "fire", "out")]
        variables = [(f"{p.name}_{v}", p, v) for p in net.populations if not p.neuron.is_input
                     for v in p.neuron.get_var_names()]
        callback = ProtocolRecorder(spikes=[pops["lif"]], variables=variables,
                                    readouts=readouts)
        compiled = InferenceCompiler(STEPS, batch_size=3, rng_seed=4,
                                     backend=backend).compile(net)
        with compiled:
            x = _inputs(pops, 5, poisson=False)
            predictions, data = compiled.predict(x, readouts, callbacks=[callback])
        return compiled.backend.name, _names(predictions), data

    name_np, pred_np, data_np = run("numpy")
    name_c, pred_c, data_c = run(("compiled", {"num_threads": 1}))
    assert (name_np, name_c) == ("numpy", "compiled")
    assert_same(pred_c, pred_np)
    assert_same(data_c, data_np)
    lif_spikes = data_c["protocol"]["spikes"]["lif"]
    assert sum(len(t) for t, _ in lif_spikes) > 20
    # The parameters really differ per neuron inside the kernel's state.
    assert len(np.unique(data_c["protocol"]["vars"]["lif_tau_mem"][0])) > 20


def test_per_neuron_parameters_run_on_the_default_compiled_backend():
    net, _ = _per_neuron_network(False)
    compiled = InferenceCompiler(5).compile(net)
    assert compiled.backend.name == "compiled"

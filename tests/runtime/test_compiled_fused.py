"""The compiled loop's fast paths agree with the NumPy backend bit for bit.

A LIF population without refractory time or per-neuron parameters is
updated in one pass that also injects its lone incoming connection, and
every spiking population leaves a list of the ids that fired, which
delivery, the recording buffers and the spike records read.  These
networks exercise every variant of that pass (injected or not, each
readout, relative and absolute reset, scaled or not, two inputs, a
synapse tau per neuron), population sizes that are not multiples of 8 or
32, and the edge cases: no spike at all, every neuron firing every step,
batch padding, one and two threads, one kernel call per step.
"""

from __future__ import annotations

import numpy as np
import pytest
from _batch_spikes import SpikesAtBatchEnd
from _exact import assert_same

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.initializers import Normal
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential

pytest.importorskip("numba")

STEPS = 30


def _network(thresh: float):
    """Fast-path LIF populations of every kind, fed by a 37-neuron input."""
    net = Network()
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 37, record_spikes=True, name="inp")
        # One exponential, scaled input injected in the LIF pass; a voltage readout.
        fused = Population(LeakyIntegrateFire(v_thresh=thresh, tau_mem=12.0, scale_i=True,
                                              relative_reset=True, readout="max_var"),
                           70, record_spikes=True, name="fused")
        Connection(inp, fused, Dense(Normal(0.4, 0.5)), Exponential(4.0, scale_i=True))
        # A lone delta input (no injection), first spike times.
        lone = Population(LeakyIntegrateFire(v_thresh=thresh, readout="first_spike_time"), 9,
                          record_spikes=True, name="lone")
        Connection(fused, lone, Dense(Normal(0.3, 0.4)))
        # Two inputs (injected before the pass), counted spikes.
        two = Population(LeakyIntegrateFire(v_thresh=thresh, tau_mem=5.0,
                                            readout="spike_count"), 12,
                         record_spikes=True, name="two")
        Connection(inp, two, FixedProbability(0.5, Normal(0.3, 0.4)), Exponential(3.0))
        Connection(lone, two, Dense(Normal(0.5, 0.3)))
        # One exponential input with a synapse tau per neuron (injected before the pass).
        hetero = Population(LeakyIntegrateFire(v_thresh=thresh, readout="avg_var_exp_weight"),
                            5, record_spikes=True, name="hetero")
        Connection(fused, hetero, Dense(Normal(0.2, 0.3)),
                   Exponential(np.linspace(2.0, 6.0, 5), scale_i=True))
        # An unscaled exponential input injected in the pass, summed and averaged voltages.
        summed = Population(LeakyIntegrateFire(v_thresh=thresh, readout="sum_var"), 33,
                            record_spikes=True, name="summed")
        Connection(inp, summed, Dense(Normal(0.2, 0.4)), Exponential(5.0))
        averaged = Population(LeakyIntegrateFire(v_thresh=thresh, scale_i=True,
                                                 readout="avg_var"), 8,
                              record_spikes=True, name="averaged")
        Connection(two, averaged, Dense(Normal(0.4, 0.4)), Exponential(2.0))
        plain = Population(LeakyIntegrateFire(v_thresh=thresh), 64, record_spikes=True,
                           name="plain")
        Connection(summed, plain, Dense(Normal(0.3, 0.4)), Exponential(2.0, scale_i=True))
        out = Population(LeakyIntegrate(readout="sum_var"), 3, name="out")
        Connection(plain, out, Dense(Normal(0.0, 0.3)))
    return net, {p.name: p for p in net.populations}


class _EveryStep(SpikesAtBatchEnd):
    """Also reads every step's voltages: the kernel runs one step per call."""

    def __init__(self, pops):
        super().__init__(pops)
        self.voltages: list = []

    def on_timestep_end(self, timestep):
        row = []
        for pop in self.pops[1:]:
            self.backend.pull_var(pop, "V")
            row.append(self.backend.get_var(pop, "V").copy())
        self.voltages.append(row)


def _run(backend, x, thresh, batch_size, step_mode=False):
    net, pops = _network(thresh)
    spiking = [p for p in net.populations if p.record_spikes]
    readouts = [p for p in net.populations if p.neuron.readout is not None]
    callback = _EveryStep(spiking) if step_mode else SpikesAtBatchEnd(spiking)
    compiled = InferenceCompiler(STEPS, batch_size=batch_size, backend=backend).compile(net)
    with compiled:
        predictions, _ = compiled.predict({pops["inp"]: x}, readouts, callbacks=[callback])
    result = {p.name: v for p, v in predictions.items()}
    result["spikes"] = callback.spikes
    if step_mode:
        result["voltages"] = callback.voltages
    return result


def _inputs(scale):
    return (np.random.default_rng(4).uniform(0.0, 1.0, (7, 37)) * scale).astype(np.float32)


@pytest.mark.parametrize("batch_size, threads", [(1, 1), (4, 1), (4, 2), (7, 2)])
def test_fused_lif_paths_match_numpy_bit_for_bit(batch_size, threads):
    x = _inputs(1.0)
    expected = _run("numpy", x, 0.8, 1)
    got = _run(("compiled", {"num_threads": threads}), x, 0.8, batch_size)
    assert_same(expected, got)
    # Every population fired at some step, and some neurons stayed silent.
    for name, spikes in got["spikes"].items():
        assert sum(len(times) for times, _ in spikes) > 0, name


@pytest.mark.parametrize("scale, thresh, expect", [(0.0, 0.8, "silent"), (1.0, -1.0, "all")])
def test_no_spikes_and_every_neuron_every_step_match_numpy(scale, thresh, expect):
    # "all": every input at least the input threshold 1.0, every LIF threshold below 0.
    x = _inputs(scale) + np.float32(scale)
    expected = _run("numpy", x, thresh, 1)
    got = _run(("compiled", {"num_threads": 2}), x, thresh, 4)
    assert_same(expected, got)
    counts = {name: sum(len(times) for times, _ in spikes)
              for name, spikes in got["spikes"].items()}
    sizes = {"inp": 37, "fused": 70, "lone": 9, "two": 12, "hetero": 5, "summed": 33,
             "averaged": 8, "plain": 64}
    for name, count in counts.items():
        # Silent: nothing fires; "all": every neuron of every example at every step.
        assert count == (0 if expect == "silent" else 7 * STEPS * sizes[name]), name


def test_one_step_per_call_rebuilds_the_id_lists_from_the_flags():
    x = _inputs(1.0)
    expected = _run("numpy", x, 0.8, 2, step_mode=True)
    got = _run(("compiled", {"num_threads": 1}), x, 0.8, 2, step_mode=True)
    assert_same(expected, got)
    assert len(got["voltages"]) == 4 * STEPS  # 7 examples in 4 batches of 2


def test_gather_lists_the_set_flags_ascending():
    from numba import njit

    from spikehooks.backends.compiled_backend._gather import gather

    @njit
    def run(flags, start, stop, ids):
        # A slice at any offset, as the kernel passes one population's flags.
        return gather(flags[start:stop], ids)

    rng = np.random.default_rng(8)
    for n in list(range(0, 140)) + [784]:
        for density in (0.0, 0.05, 0.5, 1.0):
            start = int(rng.integers(0, 9))
            flags = rng.uniform(0.0, 1.0, start + n + 5) < density
            ids = np.full(n + 1, -1, dtype=np.int64)
            count = run(flags, start, start + n, ids)
            expected = np.flatnonzero(flags[start:start + n])
            assert count == len(expected), (n, density)
            np.testing.assert_array_equal(ids[:count], expected)

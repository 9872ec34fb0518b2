"""The compiled kernel's AdaptiveLeakyIntegrateFire agrees with the NumPy backend bit for bit.

Networks with ALIF populations, feed-forward and recurrent, with relative
and absolute reset, refractory time (integrating during it or not), every
readout the NumPy backend has for them, parameters given per neuron, spike
recording, ``VarRecorder`` of ``V`` and ``A``, batch padding, batch sizes 1
and several, one and two threads, and one kernel call per step (a
per-timestep callback reading ``V`` and ``A``).
"""

from __future__ import annotations

import numpy as np
import pytest
from _exact import assert_same

from spikehooks import Connection, InferenceCompiler, Network, Population
from spikehooks.callbacks import Callback
from spikehooks.connectivity import Dense, FixedProbability
from spikehooks.initializers import Normal, Uniform
from spikehooks.neurons import AdaptiveLeakyIntegrateFire, IntegrateFireInput, LeakyIntegrate
from spikehooks.synapses import Exponential
from spikehooks_recorders import SpikeRecorder, VarRecorder

pytest.importorskip("numba")

STEPS = 40
READOUTS = ("sum_var", "avg_var", "avg_var_exp_weight", "max_var", "spike_count",
            "first_spike_time", "var")


def _network(relative: bool, tau_refrac, during: bool, readout: str, per_neuron: bool):
    """Input -> ALIF (recurrent) -> ALIF output with ``readout``, and an LI output."""
    net = Network()
    n = 23
    if per_neuron:
        params = dict(v_thresh=np.linspace(0.6, 1.2, n).astype(np.float32),
                      v_reset=Uniform(-0.2, 0.1), beta=np.linspace(0.0, 0.5, n),
                      tau_mem=Uniform(5.0, 30.0), tau_adapt=np.linspace(20.0, 400.0, n))
        if tau_refrac is not None:
            tau_refrac = np.linspace(0.0, 2 * tau_refrac, n)
    else:
        params = dict(v_thresh=0.8, v_reset=-0.1, beta=0.3, tau_mem=15.0, tau_adapt=150.0)
    with net:
        inp = Population(IntegrateFireInput(v_thresh=1.0), 17, record_spikes=True, name="inp")
        hid = Population(AdaptiveLeakyIntegrateFire(relative_reset=relative,
                                                    tau_refrac=tau_refrac,
                                                    integrate_during_refrac=during, **params),
                         n, record_spikes=True, name="hid")
        Connection(inp, hid, Dense(Normal(0.35, 0.4)), Exponential(4.0))
        # Recurrent: reads the previous step's spikes.
        Connection(hid, hid, FixedProbability(0.4, Normal(0.0, 0.3)))
        out = Population(AdaptiveLeakyIntegrateFire(v_thresh=0.5, beta=0.2, tau_adapt=50.0,
                                                     relative_reset=not relative,
                                                     readout=readout),
                         6, record_spikes=True, name="out")
        Connection(hid, out, Dense(Normal(0.3, 0.3)))
        li = Population(LeakyIntegrate(readout="sum_var"), 3, name="li")
        Connection(out, li, Dense(Normal(0.2, 0.3)))
    return net, {p.name: p for p in net.populations}


class _EveryStep(Callback):
    """Reads ``V`` and ``A`` of the ALIF populations after every step."""

    def __init__(self, pops):
        self.pops, self.values = pops, []

    def set_params(self, backend, **kwargs):
        self.backend = backend

    def on_timestep_end(self, timestep):
        row = []
        for pop in self.pops:
            for var in ("V", "A"):
                self.backend.pull_var(pop, var)
                row.append(self.backend.get_var(pop, var).copy())
        self.values.append(row)


def _run(backend, x, batch_size, net_args, step_mode=False):
    net, pops = _network(*net_args)
    alifs = [pops["hid"], pops["out"]]
    callbacks = [SpikeRecorder(pops[name], key=f"{name}_spikes") for name in ("inp", "hid", "out")]
    callbacks += [VarRecorder(pop, var, key=f"{pop.name}_{var}")
                  for pop in alifs for var in ("V", "A")]
    every = _EveryStep(alifs)
    if step_mode:
        callbacks.append(every)
    compiled = InferenceCompiler(STEPS, batch_size=batch_size, backend=backend).compile(net)
    with compiled:
        predictions, cb_data = compiled.predict({pops["inp"]: x}, [pops["out"], pops["li"]],
                                                callbacks=callbacks)
    assert compiled.backend.name == (backend if isinstance(backend, str) else backend[0])
    result = {p.name: v for p, v in predictions.items()}
    result.update(cb_data)
    if step_mode:
        result["every_step"] = every.values
    return result


def _inputs():
    return np.random.default_rng(7).uniform(0.0, 0.9, (5, 17)).astype(np.float32)


def _compare(net_args, batch_size, threads, step_mode=False):
    x = _inputs()
    want = _run("numpy", x, batch_size, net_args, step_mode)
    got = _run(("compiled", {"num_threads": threads}), x, batch_size, net_args, step_mode)
    assert_same(got, want)
    return want


@pytest.mark.parametrize("batch_size, threads", [(1, 1), (2, 1), (3, 2), (5, 2)])
def test_alif_is_bit_for_bit_with_numpy_across_batches_and_threads(batch_size, threads):
    want = _compare((True, None, True, "sum_var", False), batch_size, threads)
    # The network is not silent and not saturated: the comparison means something.
    spikes = np.concatenate(list(want["hid_spikes"][0]))
    assert 0 < spikes.size < 5 * STEPS * 23
    assert np.any(np.asarray(want["hid_A"]) > 0.0)


@pytest.mark.parametrize("readout", READOUTS)
def test_every_readout_of_an_alif_output(readout):
    _compare((False, None, True, readout, False), 2, 1)


@pytest.mark.parametrize("relative, tau_refrac, during", [
    (True, 3.0, True), (True, 3.0, False), (False, 2.0, False), (False, None, True)])
def test_resets_and_refractory_time(relative, tau_refrac, during):
    _compare((relative, tau_refrac, during, "spike_count", False), 3, 2)


@pytest.mark.parametrize("tau_refrac", [None, 2.0])
def test_parameters_given_per_neuron(tau_refrac):
    _compare((True, tau_refrac, False, "max_var", True), 2, 2)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_one_kernel_call_per_step(batch_size):
    """A per-timestep callback makes the backend step one timestep per kernel call."""
    net_args = (True, 2.0, True, "avg_var", False)
    want = _compare(net_args, batch_size, 2, step_mode=True)
    assert len(want["every_step"]) == STEPS * -(-5 // batch_size)
    # Stepping gives what one call per batch gives.
    whole = _run(("compiled", {"num_threads": 1}), _inputs(), batch_size, net_args)
    assert_same({k: v for k, v in want.items() if k != "every_step"}, whole)

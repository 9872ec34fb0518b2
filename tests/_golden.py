"""The golden networks and a protocol-only recorder, shared by the runtime and GeNN tests.

``tests/`` is on ``sys.path`` (it holds the root conftest), so test modules in
any folder import this as ``_golden``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikehooks import Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import (
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
from spikehooks.synapses import Exponential

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"


def load_golden(name: str) -> dict:
    with np.load(GOLDEN / f"{name}.npz") as npz:
        return {key: npz[key] for key in npz.files}


def golden_list(data: dict, key: str, field: str | None = None) -> list:
    """Return the numbered entries of ``key`` (``<key>__<field>__<k>``) as a list."""
    count = int(data[f"{key}__len"])
    middle = f"__{field}" if field else ""
    return [data[f"{key}{middle}__{k}"] for k in range(count)]


def if_input_network(data: dict):
    """The first golden case: IF input 20 -> LIF 10 -> LI 3 (sum_var), delta synapses."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(IntegrateFireInput(v_thresh=5.0), 20, record_spikes=True, name="input")
        hidden = Layer(Dense(data["W1"]), LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0), 10,
                       record_spikes=True, name="hidden")
        out = Layer(Dense(data["W2"]), LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 3,
                    name="output")
    return network, inp, hidden, out


def spike_input_network(data: dict):
    """The second golden case: SpikeInput 5 -> LIF 4 (refractory) -> LI 2 (max_var), exponential."""
    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=1000), 5, record_spikes=True, name="input")
        hidden = Layer(Dense(data["W_hid"]),
                       LeakyIntegrateFire(v_thresh=1.0, tau_mem=10.0, tau_refrac=2.0), 4,
                       Exponential(5.0), record_spikes=True, name="hidden")
        out = Layer(Dense(data["W_out"]), LeakyIntegrate(tau_mem=10.0, readout="max_var"), 2,
                    Exponential(5.0), name="output")
    return network, inp, hidden, out


def golden_spikes(data: dict) -> list:
    return [preprocess_spikes(data[f"spike_times__{e}"], data[f"spike_ids__{e}"], 5)
            for e in range(4)]


class ProtocolRecorder(Callback):
    """Records spikes, variables and readouts through the backend protocol only.

    ``spikes``: populations whose spikes to keep; ``variables``: (key, population,
    name) triples; ``readouts``: populations whose readout to keep at batch end.
    Data are per real example, in example order.
    """

    def __init__(self, spikes=(), variables=(), readouts=(), key="protocol"):
        self.key = key
        self.spike_pops = list(spikes)
        self.variables = list(variables)
        self.readout_pops = list(readouts)

    def set_params(self, backend, compiled_network, **kwargs):
        self.backend = backend
        self.compiled_network = compiled_network
        self.data = {"spikes": {p.name: [] for p in self.spike_pops},
                     "vars": {k: [] for k, _, _ in self.variables},
                     "readouts": {p.name: [] for p in self.readout_pops}}
        self._rows = {k: [] for k, _, _ in self.variables}

    def on_timestep_end(self, timestep):
        for key, pop, name in self.variables:
            self.backend.pull_var(pop, name)
            self._rows[key].append(self.backend.get_var(pop, name).copy())

    def on_batch_end(self, batch, metrics):
        k = self.backend.num_examples_in_batch
        self.backend.pull_recording_buffers()
        for pop in self.spike_pops:
            self.data["spikes"][pop.name].extend(self.backend.get_spikes(pop))
        for key, _, _ in self.variables:
            rows = np.stack(self._rows[key])  # (T, batch, n)
            self.data["vars"][key].extend(rows[:, b] for b in range(k))
            self._rows[key] = []
        for pop in self.readout_pops:
            self.data["readouts"][pop.name].extend(self.compiled_network.get_readout(pop)[:k])

    def get_data(self):
        return self.key, self.data


def spikes_by_step(times: np.ndarray, ids: np.ndarray, dt: float = 1.0) -> dict:
    """Map each timestep to the set of neuron ids that spiked in it."""
    result: dict[int, set] = {}
    for t, i in zip(np.round(np.asarray(times) / dt).astype(int), ids, strict=True):
        result.setdefault(int(t), set()).add(int(i))
    return result

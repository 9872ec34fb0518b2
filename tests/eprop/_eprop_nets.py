"""Small e-prop networks: spikehooks' compiled network and the reference's Net, same weights."""

from __future__ import annotations

import numpy as np
from _eprop_reference import Net

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EPropCompiler
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import (
    AdaptiveLeakyIntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
from spikehooks.optimisers import SGD

N_IN, N_HID, N_OUT = 6, 8, 3
PATTERN_STEPS = 40


def pattern_data(n: int, seed: int, steps: int = PATTERN_STEPS) -> tuple[list, np.ndarray]:
    """Three classes; each fires its own group of 4 of 12 inputs (plus noise) in a burst.

    Returns ``n`` PreprocessedSpikes (spike at step t: t ms, ``steps`` steps) and the
    int64 labels, shape (n,).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    data = []
    for label in labels:
        spikes = rng.random((steps, 12)) < 0.02
        spikes[5:25, 4 * label:4 * label + 4] |= rng.random((20, 4)) < 0.5
        t, i = np.nonzero(spikes)
        data.append(preprocess_spikes(t.astype(float), i, 12))
    return data, labels


def raster(seed: int, steps: int, batch: int, rate: float = 0.2) -> np.ndarray:
    """Random input spikes, bool (steps, batch, N_IN)."""
    return np.random.default_rng(seed).random((steps, batch, N_IN)) < rate


def to_spikes(spikes: np.ndarray) -> list:
    """A (steps, batch, n) raster as one PreprocessedSpikes per example (spike at step t: t ms)."""
    out = []
    for b in range(spikes.shape[1]):
        t, i = np.nonzero(spikes[:, b])
        out.append(preprocess_spikes(t.astype(float), i, spikes.shape[2]))
    return out


def make(seed: int = 1, *, adaptive: bool = False, categorical: bool = True,
         tau_refrac: float | None = 3.0, c_reg: float = 0.5, batch_size: int = 2,
         beta: float = 0.2, steps: int = 40, optimiser=None, bias: float = 0.0, **compiler):
    """Return ``(compiled_net, (inp, hid, out), reference Net)`` with the same float32 weights."""
    rng = np.random.default_rng(seed)
    w_in = rng.normal(0.5, 0.4, (N_IN, N_HID)).astype(np.float32)
    w_rec = rng.normal(0.0, 0.3, (N_HID, N_HID)).astype(np.float32)
    w_out = rng.normal(0.0, 0.5, (N_HID, N_OUT)).astype(np.float32)
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=10000), N_IN, name="inp")
        neuron = (AdaptiveLeakyIntegrateFire(v_thresh=0.6, tau_refrac=tau_refrac, beta=beta)
                  if adaptive else
                  LeakyIntegrateFire(v_thresh=0.6, tau_mem=20.0, tau_refrac=tau_refrac))
        hid = Population(neuron, N_HID, name="hid", record_spikes=True)
        out = Population(LeakyIntegrate(tau_mem=20.0, bias=bias, readout="sum_var"), N_OUT,
                         name="out")
        Connection(inp, hid, Dense(w_in.copy()), name="in_hid")
        Connection(hid, hid, Dense(w_rec.copy()), name="hid_hid")
        Connection(hid, out, Dense(w_out.copy()), name="hid_out")
    compiled = EPropCompiler(
        example_timesteps=steps,
        losses="sparse_categorical_crossentropy" if categorical else "mean_square_error",
        optimiser=optimiser if optimiser is not None else SGD(1e-30), batch_size=batch_size,
        c_reg=c_reg, **compiler).compile(network)
    net = Net(w_in.astype(np.float64), w_rec.astype(np.float64), w_out.astype(np.float64),
              np.full(N_OUT, bias), v_thresh=0.6, tau_refrac=tau_refrac, adaptive=adaptive,
              beta=beta, c_reg=c_reg)
    return compiled, (inp, hid, out), net


__all__ = ["N_HID", "N_IN", "N_OUT", "make", "raster", "to_spikes"]

"""A small latency-coded convolutional network and its dense twin."""

from __future__ import annotations

import numpy as np

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import AvgPool2D, Conv2D, Dense
from spikehooks.data import preprocess_spikes
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Exponential

IN_SHAPE = (6, 6, 1)
STEPS = 20


def _lif(v_thresh):
    return LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=10.0, relative_reset=False,
                              tau_refrac=None)


def kernel(seed=0, shape=(3, 3, 1, 4)):
    """Weights on a 1/8 grid: sums are exact in float32, so any summation order agrees."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-4, 12, size=shape) / 8.0).astype(np.float32)


def inputs(num, seed=1):
    """One spike per pixel at a random time below 10 ms (pixels of value 0 stay silent)."""
    rng = np.random.default_rng(seed)
    out = []
    n = int(np.prod(IN_SHAPE))
    for _ in range(num):
        ids = np.flatnonzero(rng.random(n) < 0.7)
        times = rng.integers(0, 10, size=len(ids)).astype(float)
        out.append(preprocess_spikes(times, ids, n))
    return out


def conv_net(w_conv, w_out, *, pool=True, record=False):
    """input (6, 6, 1) -> Conv2D(4, 3) LIF [-> AvgPool2D(2) LIF] -> dense LI output of 3."""
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=500), IN_SHAPE, record_spikes=record)
        hidden = Layer(Conv2D(w_conv, 4, 3), _lif(0.5),
                       synapse=Exponential(2.0), record_spikes=record, name="conv")
        last = hidden
        if pool:
            last = Layer(AvgPool2D(2), _lif(0.2),
                         synapse=Exponential(2.0), record_spikes=record, name="pool")
        out = Layer(Dense(w_out), LeakyIntegrate(tau_mem=10.0, readout="sum_var"), 3,
                    synapse=Exponential(2.0), name="out")
    return net, inp, hidden, last, out


def dense_twin(w_conv, w_out, record=False):
    """The same network with the convolution written out as a Dense matrix (no pooling)."""
    probe, *_ = conv_net(w_conv, w_out, pool=False)
    conv = probe.populations[1].incoming[0].connectivity
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=500), IN_SHAPE)
        hidden = Layer(Dense(conv.expand(w_conv)), _lif(0.5),
                       (4, 4, 4), synapse=Exponential(2.0), record_spikes=record, name="conv")
        out = Layer(Dense(w_out), LeakyIntegrate(tau_mem=10.0, readout="sum_var"), 3,
                    synapse=Exponential(2.0), name="out")
    return net, inp, hidden, out, conv

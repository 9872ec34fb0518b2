"""EventProp's backward pass through kernels equals the dense twin's, summed over tied positions.

The adjoint of a layer whose spikes feed a convolution or a pooling passes
through that tied connection (the spike-time jump), so these nets put tied
connections *after* a spiking layer, unlike the single-convolution twin.
"""

from __future__ import annotations

import numpy as np
import pytest
from _nets import IN_SHAPE, STEPS, _lif, inputs, kernel
from _reference import tie_sum

from spikehooks import EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import AvgPool2D, Conv2D, Dense
from spikehooks.neurons import LeakyIntegrate, SpikeInput
from spikehooks.optimisers import SGD
from spikehooks.synapses import Exponential

K1 = kernel(0, (3, 3, 1, 4))
K2 = kernel(3, (3, 3, 4, 2)) * np.float32(0.5)


def _conv_stack(pool):
    """input -> Conv2D(4, 3) LIF -> Conv2D(2, 3) LIF (or AvgPool2D(2) LIF) -> dense LI of 3."""
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=500), IN_SHAPE)
        first = Layer(Conv2D(K1, 4, 3), _lif(0.5), synapse=Exponential(2.0), name="c1")
        second = Layer(AvgPool2D(2) if pool else Conv2D(K2, 2, 3), _lif(0.2 if pool else 0.5),
                       synapse=Exponential(2.0), name="c2")
        size = int(np.prod(second.shape))
        out = Layer(Dense(kernel(2, (size, 3))), LeakyIntegrate(tau_mem=10.0, readout="sum_var"),
                    3, synapse=Exponential(2.0), name="out")
    return net, inp, [first, second], out


def _dense_twin(conns, out_weight):
    """The same stack with every tied connection written out as a Dense matrix."""
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=500), IN_SHAPE)
        layers = []
        for conn, (kern, thresh, name) in zip(conns, out_weight[0], strict=True):
            layers.append(Layer(Dense(conn.expand(kern)), _lif(thresh), conn.num_post,
                                synapse=Exponential(2.0), name=name))
        out = Layer(Dense(out_weight[1]), LeakyIntegrate(tau_mem=10.0, readout="sum_var"), 3,
                    synapse=Exponential(2.0), name="out")
    return net, inp, layers, out


def _first_batch_gradients(net, inp, out):
    compiled = EventPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                                 optimiser=SGD(0.01), batch_size=4, backend="numpy").compile(net)
    with compiled:
        compiled.train({inp: inputs(4)}, {out: np.array([0, 1, 2, 1])}, num_epochs=1,
                       callbacks=[])
    return compiled.last_gradients


@pytest.mark.parametrize("pool", [False, True], ids=["conv-conv", "conv-pool"])
def test_gradients_through_tied_connections_equal_the_dense_twins(pool):
    net, inp, layers, out = _conv_stack(pool)
    conns = [lay.connection.connectivity for lay in layers]
    kernels = [K1, np.ones(1, np.float32) if pool else K2]
    thresholds = [0.5, 0.2 if pool else 0.5]
    out_w = kernel(2, (int(np.prod(layers[1].shape)), 3))
    twin, t_inp, t_layers, t_out = _dense_twin(
        conns, (list(zip(kernels, thresholds, ["c1", "c2"], strict=True)), out_w))
    tied = _first_batch_gradients(net, inp, out)
    dense = _first_batch_gradients(twin, t_inp, t_out)
    first = tied[f"{layers[0].connection.name}/weight"]
    assert first.shape == (3, 3, 1, 4) and np.abs(first).max() > 0
    np.testing.assert_allclose(first, tie_sum(conns[0], dense[f"{t_layers[0].connection.name}"
                                                              f"/weight"]),
                               rtol=1e-9, atol=1e-12)
    if not pool:
        second = tied[f"{layers[1].connection.name}/weight"]
        assert second.shape == (3, 3, 4, 2) and np.abs(second).max() > 0
        np.testing.assert_allclose(
            second, tie_sum(conns[1], dense[f"{t_layers[1].connection.name}/weight"]),
            rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tied[f"{out.connection.name}/weight"],
                               dense[f"{t_out.connection.name}/weight"], rtol=1e-9, atol=1e-12)

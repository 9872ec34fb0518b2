"""Few-spike conversion: coding, network dynamics, and converted ANNs' accuracy on digits."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback, ConfigurationError, Connection, Network, Population
from spikehooks.compilers import FewSpikeCompiler, InferenceCompiler
from spikehooks.connectivity import AvgPool2D, Conv2D, Dense
from spikehooks.converters import FewSpike
from spikehooks.neurons import FewSpikeRelu, FewSpikeReluInput, LeakyIntegrateFire
from spikehooks.neurons.few_spike import decode, encode


def test_unsigned_code_is_the_binary_expansion_rounded_down():
    values = np.array([0.0, 1.0, 3.3, 7.99, 12.0, -2.0])
    spikes = encode(values, k=4, alpha=8.0)
    # alpha 8, k 4: digits worth 4, 2, 1, 0.5.
    np.testing.assert_array_equal(spikes[:, 2], [False, True, True, False])  # 3.3: 2 + 1
    np.testing.assert_allclose(decode(spikes, 4, 8.0), [0.0, 1.0, 3.0, 7.5, 7.5, 0.0])


def test_signed_code_alternates_positive_and_negative_digits():
    values = np.array([2.5, -2.5, -0.6])
    spikes = encode(values, k=6, alpha=4.0, signed=True)
    # k//2 = 3 digits worth 2, 1, 0.5; positive on even steps (V >= h), negative on
    # odd steps (V < -h, strictly, as mlGeNN): -2.5 leaves -0.5, which is not < -0.5.
    np.testing.assert_allclose(decode(spikes, 6, 4.0, signed=True), [2.5, -2.0, -0.5])
    assert not spikes[1::2, 0].any() and not spikes[0::2, 1].any()


def test_delay_balanced_branches_of_different_depth_add_up():
    """mlGeNN's delay-balancing test: three paths of depth 3, 2, 1 averaged at the output."""
    network = Network()
    with network:
        inp = Population(FewSpikeReluInput(k=8, alpha=5.0), 1)
        hidden = FewSpikeRelu(k=8, alpha=5.0)
        out = Population(FewSpikeRelu(k=8, alpha=5.0, readout="var"), 1)
        for depth in (3, 2, 1):
            previous = inp
            for _ in range(depth):
                pop = Population(hidden, 1)
                Connection(previous, pop, Dense(1.0))
                previous = pop
            Connection(previous, out, Dense(1.0 / 3.0))
    x = np.arange(0.0, 5.0).reshape(-1, 1)
    compiled = FewSpikeCompiler(k=8).compile(network)
    with compiled:
        metrics, _ = compiled.evaluate({inp: x}, {out: x}, "mean_square_error", callbacks=[])
        _, readouts = compiled.run_batch({inp: x})
    assert metrics[out].result < 1e-3
    np.testing.assert_allclose(readouts[out][:, 0], x[:, 0], atol=0.02)


def test_compiler_refuses_non_few_spike_neurons():
    network = Network()
    with network:
        inp = Population(FewSpikeReluInput(k=8), 2)
        Connection(inp, Population(LeakyIntegrateFire(), 2, name="lif"), Dense(1.0))
    with pytest.raises(ConfigurationError, match=r"'lif' neuron must be FewSpikeRelu"):
        FewSpikeCompiler(k=8).compile(network)


def test_compiler_refuses_mismatched_k():
    network = Network()
    with network:
        inp = Population(FewSpikeReluInput(k=8), 2)
        Connection(inp, Population(FewSpikeRelu(k=6), 2, name="h"), Dense(1.0))
    with pytest.raises(ConfigurationError, match=r"'h' k must equal the compiler's k=8; got 6"):
        FewSpikeCompiler(k=8).compile(network)


def test_converter_refuses_a_non_relu_hidden_layer():
    layers = [(Dense(np.ones((4, 3), np.float32)), "tanh"),
              (Dense(np.ones((3, 2), np.float32)), "linear")]
    with pytest.raises(ConfigurationError, match=r"layer 0 activation must be 'relu'.*'tanh'"):
        FewSpike(k=8).convert(layers, 4)


def test_numpy_backend_refuses_few_spike_neurons():
    net, _, _ = FewSpike(k=8).convert([(Dense(np.ones((4, 2), np.float32)), "linear")], 4)
    with pytest.raises(ConfigurationError, match=r"FewSpike"):
        InferenceCompiler(evaluate_timesteps=8).compile(net)


# ------------------------------------------------------------ converted ANNs
def _digits():
    pytest.importorskip("sklearn")
    from spikehooks.data import load_digits

    return load_digits(test_fraction=0.25, seed=0)


def _train(forward_backward, params, x, y, epochs, lr=0.01, seed=0):
    """Mini-batch Adam on softmax cross-entropy; ``forward_backward`` returns logits, grads."""
    rng = np.random.default_rng(seed)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(x)), len(x) // 32):
            step += 1
            grads = forward_backward(params, x[batch], y[batch])
            for p, g, mi, vi in zip(params, grads, m, v, strict=True):
                mi[:] = 0.9 * mi + 0.1 * g
                vi[:] = 0.999 * vi + 0.001 * g * g
                p -= lr * (mi / (1 - 0.9**step)) / (np.sqrt(vi / (1 - 0.999**step)) + 1e-8)
    return params


def _softmax_grad(logits, y):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def _accuracy_gap(layers, input_shape, ann_logits, x_train, x_test, y_test):
    network, inp, out = FewSpike(k=10, norm_data=x_train).convert(layers, input_shape)
    compiled = FewSpikeCompiler(k=10, batch_size=64).compile(network)
    with compiled:
        metrics, _ = compiled.evaluate({inp: x_test.reshape(len(x_test), *input_shape)},
                                       {out: y_test}, callbacks=[])
    ann = float(np.mean(ann_logits.argmax(axis=1) == y_test))
    return ann, metrics[out].result


def test_converted_mlp_matches_the_ann_on_digits():
    x_train, y_train, x_test, y_test = _digits()
    rng = np.random.default_rng(0)
    params = [rng.normal(0, 0.2, (64, 32)), rng.normal(0, 0.2, (32, 10))]

    def fb(p, x, y):
        h = np.maximum(x @ p[0], 0.0)
        g = _softmax_grad(h @ p[1], y)
        gh = (g @ p[1].T) * (h > 0)
        return [x.T @ gh, h.T @ g]

    w1, w2 = _train(fb, params, x_train.astype(np.float64), y_train, epochs=30)
    logits = np.maximum(x_test @ w1, 0.0) @ w2
    layers = [(Dense(w1.astype(np.float32)), "relu"), (Dense(w2.astype(np.float32)), "linear")]
    ann, snn = _accuracy_gap(layers, (64,), logits, x_train, x_test, y_test)
    assert ann > 0.9
    assert snn >= ann - 0.01


def test_converted_cnn_matches_the_ann_on_digits():
    x_train, y_train, x_test, y_test = _digits()
    rng = np.random.default_rng(1)
    # The convolution and pooling as matrices, from the connectivity itself:
    # the kernel's gradient is the dense gradient summed over tied positions.
    from spikehooks import InputLayer, Layer, SequentialNetwork

    probe = SequentialNetwork()
    with probe:
        InputLayer(FewSpikeReluInput(k=10), (8, 8, 1))
        conv = Layer(Conv2D(0.0, 8, 3), FewSpikeRelu(k=10)).connection.connectivity
        pool = Layer(AvgPool2D(2), FewSpikeRelu(k=10)).connection.connectivity
    pool_matrix = pool.expand(np.ones(1, np.float32)).astype(np.float64)
    params = [rng.normal(0, 0.3, (3, 3, 1, 8)), rng.normal(0, 0.2, (72, 10))]

    def fb(p, x, y):
        wc = conv.expand(p[0].astype(np.float32)).astype(np.float64)
        h = np.maximum(x @ wc, 0.0)
        pooled = h @ pool_matrix
        g = _softmax_grad(pooled @ p[1], y)
        gh = ((g @ p[1].T) @ pool_matrix.T) * (h > 0)
        return [conv.reduce(x.T @ gh), pooled.T @ g]

    kernel, w_out = _train(fb, params, x_train.astype(np.float64), y_train, epochs=30)
    wc = conv.expand(kernel.astype(np.float32)).astype(np.float64)
    logits = (np.maximum(x_test @ wc, 0.0) @ pool_matrix) @ w_out
    layers = [(Conv2D(kernel.astype(np.float32), 8, 3), "relu"), (AvgPool2D(2), "relu"),
              (Dense(w_out.astype(np.float32)), "linear")]
    ann, snn = _accuracy_gap(layers, (8, 8, 1), logits, x_train, x_test, y_test)
    assert ann > 0.9
    assert snn >= ann - 0.01


def test_callbacks_see_every_batch():
    class Count(Callback):
        def __init__(self):
            self.batches = []

        def on_batch_end(self, batch, metrics):
            self.batches.append(batch)

    net, inp, out = FewSpike(k=8).convert([(Dense(np.eye(3, dtype=np.float32)), "linear")], 3)
    counter = Count()
    with FewSpikeCompiler(k=8, batch_size=2).compile(net) as compiled:
        compiled.evaluate({inp: np.ones((5, 3))}, {out: np.zeros(5, int)}, callbacks=[counter])
    assert counter.batches == [0, 1, 2]

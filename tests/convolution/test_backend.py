"""The NumPy backend runs convolutions event by event, matching the dense equivalent."""

from __future__ import annotations

import numpy as np
import pytest
from _nets import STEPS, conv_net, dense_twin, inputs, kernel

from spikehooks import (
    ConfigurationError,
    EventPropCompiler,
    InferenceCompiler,
    InputLayer,
    Layer,
    SequentialNetwork,
)
from spikehooks.connectivity import (
    AvgPool2D,
    AvgPoolConv2D,
    AvgPoolDense2D,
    Conv2D,
    Conv2DTranspose,
)
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import SGD

W_OUT = kernel(2, (64, 3))
LOSS = "sparse_categorical_crossentropy"


def _twins(record=False):
    """(network, input, conv layer, output) of the conv network and of its dense twin."""
    net, inp, hidden, _, out = conv_net(kernel(), W_OUT, pool=False, record=record)
    twin, t_inp, t_hidden, t_out, _ = dense_twin(kernel(), W_OUT, record=record)
    return [(net, inp, hidden, out), (twin, t_inp, t_hidden, t_out)]



@pytest.mark.parametrize("batch_size,accumulation", [(1, "sequential"), (3, "sequential"),
                                                    (3, "blas")])
def test_conv_layer_spikes_equal_the_dense_twin(batch_size, accumulation):
    from spikehooks_recorders import SpikeRecorder, VarRecorder

    x = inputs(5)
    results = []
    for net, inp, hidden, out in _twins(record=True):
        compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=batch_size,
                                     backend=("numpy", {"accumulation": accumulation})
                                     ).compile(net)
        with compiled:
            _, data = compiled.evaluate(
                {inp: x}, {out: np.zeros(5, int)},
                callbacks=[SpikeRecorder(hidden, key="s"), VarRecorder(out, "V", key="v")])
        results.append(data)
    conv_data, dense_data = results
    assert sum(len(t) for t in conv_data["s"][0]) > 0
    for part in (0, 1):
        for a, b in zip(conv_data["s"][part], dense_data["s"][part], strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(conv_data["v"], dense_data["v"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_recorder_filters_select_neurons_of_a_3d_population():
    """The seed's multi-dimensional filters: a channel slice and a tuple of index lists."""
    from spikehooks_recorders import SpikeRecorder

    net, inp, hidden, last, out = conv_net(kernel(), W_OUT[:16], record=True)
    x = inputs(2)
    compiled = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=2).compile(net)
    with compiled:
        _, data = compiled.evaluate({inp: x}, {out: np.zeros(2, int)}, callbacks=[
            SpikeRecorder(hidden, key="all"),
            SpikeRecorder(hidden, key="chan0", neuron_filter=np.s_[:, :, 0]),
            SpikeRecorder(hidden, key="pairs", neuron_filter=([1, 2], [1, 3], [0, 2])),
            SpikeRecorder(hidden, key="box", neuron_filter=np.index_exp[2:4, 2:4])])
    ids = np.arange(4 * 4 * 4).reshape(4, 4, 4)
    for key, wanted in (("chan0", ids[:, :, 0]), ("pairs", ids[[1, 2], [1, 3], [0, 2]]),
                        ("box", ids[2:4, 2:4])):
        for example in range(2):
            times, got = data["all"][0][example], data["all"][1][example]
            keep = np.isin(got, wanted.ravel())
            np.testing.assert_array_equal(data[key][1][example], got[keep])
            np.testing.assert_array_equal(data[key][0][example], times[keep])
    assert any(len(i) for i in data["chan0"][1])


def test_get_weight_is_the_live_kernel():
    net, inp, hidden, last, out = conv_net(kernel(), W_OUT[:16])
    compiled = InferenceCompiler(evaluate_timesteps=STEPS).compile(net)
    with compiled:
        live = compiled.backend.get_weight(hidden.connection)
        assert live.shape == (3, 3, 1, 4) and live.dtype == np.float32
        np.testing.assert_array_equal(live, kernel())
        state = compiled.backend.get_learnable_state()
        assert state[f"{hidden.connection.name}/weight"].shape == (3, 3, 1, 4)
        assert state[f"{last.connection.name}/weight"].shape == (1,)


def test_kernel_gradient_is_the_dense_gradient_summed_over_tied_positions():
    from _reference import tie_sum

    x = inputs(4)
    labels = np.array([0, 1, 2, 1])
    grads = []
    for net, inp, hidden, out in _twins():
        compiled = EventPropCompiler(example_timesteps=STEPS, losses=LOSS, optimiser=SGD(0.01),
                                     batch_size=4).compile(net)
        with compiled:
            compiled.train({inp: x}, {out: labels}, num_epochs=1, callbacks=[])
        grads.append(compiled.last_gradients[f"{hidden.connection.name}/weight"])
    conv_grad, dense_grad = grads
    conv = dense_twin(kernel(), W_OUT)[-1]
    assert conv_grad.shape == (3, 3, 1, 4)
    assert np.abs(conv_grad).max() > 0
    np.testing.assert_allclose(conv_grad, tie_sum(conv, dense_grad), rtol=1e-9, atol=1e-12)


def test_pooling_kernel_is_not_trained():
    net, inp, hidden, last, out = conv_net(kernel(), W_OUT[:16] + 0.5)
    compiled = EventPropCompiler(example_timesteps=STEPS, losses=LOSS, optimiser=SGD(1.0),
                                 batch_size=2).compile(net)
    with compiled:
        compiled.train({inp: inputs(2)}, {out: np.array([0, 1])}, num_epochs=1, callbacks=[])
        assert f"{last.connection.name}/weight" not in compiled.last_gradients
        np.testing.assert_array_equal(compiled.backend.get_weight(last.connection), [1.0])


def test_genn_backend_plans_convolution_as_expanded_sparse_synapses():
    from spikehooks.backends.genn_backend._plan import make_plan

    net, _, hidden, last, _ = conv_net(kernel(), W_OUT[:16])
    plan = make_plan(net, batch_size=1, dt=1.0, num_timesteps=STEPS, rng_seed=0,
                     genn_backend="cpu")
    conv, pool = plan.connections[:2]
    assert conv.matrix_type == pool.matrix_type == "SPARSE"
    np.testing.assert_array_equal(conv.kernel, kernel())
    np.testing.assert_array_equal(conv.weight, hidden.connection.connectivity.expand(kernel()))
    assert conv.max_connections == 9 * 4 and pool.max_connections == 1
    np.testing.assert_array_equal(pool.weight[pool.mask], np.full(64, 0.25, np.float32))


def test_genn_backend_refuses_a_delayed_convolution_naming_it():
    from spikehooks.backends.genn_backend._plan import make_plan

    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(max_spikes=10), (4, 4, 1))
        Layer(Conv2D(kernel(), 4, 3, delay=2), LeakyIntegrateFire())
    with pytest.raises(ConfigurationError, match=r"'conn0' delay must be 0 for Conv2D on the "
                                                 r"genn backend; got 2"):
        make_plan(net, batch_size=1, dt=1.0, num_timesteps=STEPS, rng_seed=0,
                  genn_backend="cpu")


@pytest.mark.parametrize("accumulation", ["sequential", "blas"])
@pytest.mark.parametrize("make", [
    lambda w: Conv2D(w((3, 3, 2, 3)), 3, 3, conv_strides=2, conv_padding="same"),
    lambda w: Conv2D(w((2, 3, 2, 3)), 3, (2, 3), conv_strides=(2, 1)),
    lambda w: Conv2DTranspose(w((3, 3, 3, 2)), 3, 3, conv_strides=2),
    lambda w: AvgPool2D(2),
    lambda w: AvgPoolDense2D(w((2 * 2 * 2, 5)), 2),
    lambda w: AvgPoolConv2D(w((2, 2, 2, 3)), 3, 2, 2, conv_padding="same"),
])
def test_one_step_delivery_equals_spikes_times_the_dense_matrix(make, accumulation):
    from spikehooks.backends.numpy_backend import _synaptic

    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), (4, 4, 2))
        layer = Layer(make(lambda shape: kernel(5, shape)), LeakyIntegrateFire(),
                      synapse="delta")
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=3,
                                 backend=("numpy", {"accumulation": accumulation})).compile(net)
    backend, conn = compiled.backend, layer.connection
    cst, src = backend._conns[conn], backend._pops[conn.source]
    src.spikes[...] = np.random.default_rng(7).random(src.spikes.shape) < 0.4
    out = np.full((3, layer.num_neurons), np.nan, np.float32)
    _synaptic.build_delivery(cst, src, out, sequential=accumulation == "sequential")(0)
    dense = conn.connectivity.expand(cst.weight)
    np.testing.assert_array_equal(out, src.spikes.astype(np.float32) @ dense)


def test_a_delayed_convolution_is_refused_on_the_numpy_backend():
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), (4, 4, 1))
        Layer(Conv2D(1.0, 2, 3, delay=2), LeakyIntegrateFire(), name="late")
    with pytest.raises(ConfigurationError, match=r"delay must be 0 for Conv2D.*got 2"):
        InferenceCompiler(evaluate_timesteps=4).compile(net)

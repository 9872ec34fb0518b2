"""Convolution and pooling connectivity compute the maps their names promise."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import avg_pool, conv, conv_transpose

from spikehooks import InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import (
    AvgPool2D,
    AvgPoolConv2D,
    AvgPoolDense2D,
    Conv2D,
    Conv2DTranspose,
)
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput

RNG = np.random.default_rng(3)


def _apply(connectivity, x):
    """Push a (h, w, c) map through the connectivity's dense expansion."""
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), x.shape)
        layer = Layer(connectivity, LeakyIntegrateFire())
    kernel = connectivity.make_kernel(np.random.default_rng(0))
    flat = x.reshape(-1) @ connectivity.expand(kernel).astype(np.float64)
    return flat.reshape(layer.shape), kernel, layer.shape


@pytest.mark.parametrize("shape,size,strides,padding", [
    ((6, 6, 1), (3, 3), (1, 1), "valid"),
    ((7, 5, 2), (3, 2), (2, 1), "valid"),
    ((6, 6, 2), (3, 3), (1, 1), "same"),
    ((8, 6, 1), (4, 3), (2, 2), "same"),
])
def test_conv2d_is_a_channels_last_cross_correlation(shape, size, strides, padding):
    x = RNG.normal(size=shape)
    kernel = RNG.normal(size=(*size, shape[2], 4)).astype(np.float32)
    out, _, layer_shape = _apply(Conv2D(kernel, 4, size, conv_strides=strides,
                                        conv_padding=padding), x)
    expected = conv(x, kernel.astype(np.float64), strides, padding)
    assert layer_shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape,size,strides,padding,out_hw", [
    ((3, 3, 2), (3, 3), (1, 1), "valid", (5, 5)),
    ((3, 4, 1), (3, 3), (2, 2), "valid", (7, 9)),
    ((4, 4, 2), (3, 3), (2, 2), "same", (8, 8)),
])
def test_conv2d_transpose_scatters_the_kernel(shape, size, strides, padding, out_hw):
    x = RNG.normal(size=shape)
    kernel = RNG.normal(size=(*size, 3, shape[2])).astype(np.float32)
    out, _, layer_shape = _apply(Conv2DTranspose(kernel, 3, size, conv_strides=strides,
                                                 conv_padding=padding), x)
    assert layer_shape == (*out_hw, 3)
    np.testing.assert_allclose(out, conv_transpose(x, kernel.astype(np.float64), strides,
                                                   padding, out_hw), rtol=1e-6, atol=1e-9)


def test_avg_pool2d_averages_each_channel():
    x = RNG.normal(size=(6, 4, 3))
    out, kernel, layer_shape = _apply(AvgPool2D(2), x)
    assert layer_shape == (3, 2, 3)
    assert kernel.shape == (1,)
    np.testing.assert_allclose(out, avg_pool(x, (2, 2)), rtol=1e-6)


def test_avg_pool_dense2d_is_pooling_then_dense():
    x = RNG.normal(size=(4, 6, 2))
    weight = RNG.normal(size=(2 * 3 * 2, 5)).astype(np.float32)
    out, _, layer_shape = _apply(AvgPoolDense2D(weight, 2), x)
    assert layer_shape == (5,)
    expected = avg_pool(x, (2, 2)).reshape(-1) @ weight.astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_avg_pool_conv2d_is_pooling_then_convolution(padding):
    x = RNG.normal(size=(8, 8, 2))
    kernel = RNG.normal(size=(3, 3, 2, 4)).astype(np.float32)
    out, _, _ = _apply(AvgPoolConv2D(kernel, 4, 2, 3, conv_padding=padding), x)
    expected = conv(avg_pool(x, (2, 2)), kernel.astype(np.float64), (1, 1), padding)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-9)


def test_flatten_gives_a_flat_target_in_c_order():
    x = RNG.normal(size=(5, 5, 1))
    kernel = RNG.normal(size=(3, 3, 1, 2)).astype(np.float32)
    out, _, layer_shape = _apply(Conv2D(kernel, 2, 3, flatten=True), x)
    assert layer_shape == (18,)
    np.testing.assert_allclose(out, conv(x, kernel.astype(np.float64)).reshape(-1), rtol=1e-6)


def test_connectivity_is_available_by_registered_name():
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), (6, 6, 1))
        conv_layer = Layer(("conv_2d", {"weight": 0.5, "filters": 4, "conv_size": 3}),
                           LeakyIntegrateFire())
        pool = Layer(("avg_pool_2d", {"pool_size": 2}),
                     LeakyIntegrateFire())
    assert type(conv_layer.connection.connectivity) is Conv2D
    assert (conv_layer.shape, pool.shape) == ((4, 4, 4), (2, 2, 4))


def test_a_population_without_shape_gets_the_output_shape_from_its_connection():
    from spikehooks import Connection, Network, Population

    net = Network()
    with net:
        inp = Population(SpikeInput(), (8, 8, 2))
        conv = Population(LeakyIntegrateFire(), None)
        pool = Population(LeakyIntegrateFire(), None)
        Connection(inp, conv, Conv2D(1.0, 4, 3, conv_padding="same", conv_strides=2))
        Connection(conv, pool, AvgPool2D(2, flatten=True))
    assert (conv.shape, pool.shape) == ((4, 4, 4), (16,))

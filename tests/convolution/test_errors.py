"""Bad convolution and pooling set-ups are refused while the network is described."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import ConfigurationError, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import AvgPool2D, AvgPoolDense2D, Conv2D, Dense
from spikehooks.neurons import LeakyIntegrateFire, SpikeInput


def _layer(in_shape, connectivity, **kwargs):
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(), in_shape)
        return Layer(connectivity, LeakyIntegrateFire(), name="hidden", **kwargs)


def test_kernel_larger_than_input_names_layer_and_shapes():
    with pytest.raises(ConfigurationError, match=r"'hidden'|hidden") as err:
        _layer((4, 4, 1), Conv2D(1.0, 2, 5))
    assert "(5, 5)" in str(err.value) and "(4, 4, 1)" in str(err.value)
    assert "conv_size" in str(err.value)


def test_strides_that_do_not_tile_are_refused():
    with pytest.raises(ConfigurationError, match=r"conv_strides must tile the input") as err:
        _layer((8, 8, 1), Conv2D(1.0, 2, 3, conv_strides=2))
    assert "(8, 8, 1)" in str(err.value) and "hidden" in str(err.value)


def test_same_padding_strides_must_divide_the_input():
    with pytest.raises(ConfigurationError, match=r"conv_strides must tile"):
        _layer((7, 8, 1), Conv2D(1.0, 2, 3, conv_strides=2, conv_padding="same"))


def test_pool_size_must_divide_the_input():
    with pytest.raises(ConfigurationError, match=r"pool_size must divide the input") as err:
        _layer((7, 8, 2), AvgPool2D(2))
    assert "(7, 8, 2)" in str(err.value) and "hidden" in str(err.value)


def test_source_must_be_three_dimensional():
    with pytest.raises(ConfigurationError, match=r"source shape must be \(height, width, "):
        _layer(64, Conv2D(1.0, 2, 3))


def test_kernel_array_shape_is_checked():
    with pytest.raises(ConfigurationError, match=r"weight must have shape \(3, 3, 1, 2\)"):
        _layer((6, 6, 1), Conv2D(np.zeros((3, 3, 2, 2), np.float32), 2, 3))


def test_explicit_target_shape_must_match_the_output():
    with pytest.raises(ConfigurationError, match=r"target shape must be \(4, 4, 2\)"):
        _layer((6, 6, 1), Conv2D(1.0, 2, 3), shape=(5, 5, 2))


def test_dense_layer_still_needs_a_shape():
    with pytest.raises(ConfigurationError, match=r"Dense cannot infer it"):
        _layer(4, Dense(1.0))


@pytest.mark.parametrize("kwargs,match", [
    ({"weight": 1.0, "filters": 0, "conv_size": 3}, "filters must be a positive int"),
    ({"weight": 1.0, "filters": 2, "conv_size": (3, 3, 3)}, "conv_size must be a positive int"),
    ({"weight": 1.0, "filters": 2, "conv_size": 3, "conv_padding": "full"},
     "conv_padding must be 'valid' or 'same'"),
])
def test_conv2d_parameters_are_checked(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        Conv2D(**kwargs)


def test_overlapping_pools_are_refused():
    with pytest.raises(ConfigurationError, match=r"pool_strides must be >= pool_size"):
        AvgPoolDense2D(1.0, 2, pool_strides=1)

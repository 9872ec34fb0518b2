"""The Yin-Yang data set generator and its time-to-first-spike encoding."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import ConfigurationError
from spikehooks.data import (
    CLASS_NAMES,
    encode_yin_yang,
    generate_yin_yang_dataset,
    make_yin_yang,
    yin_yang_class,
)


@pytest.mark.parametrize(
    "x, y, label",
    [
        (0.25, 0.5, 2),  # centre of the left dot
        (0.75, 0.5, 2),  # centre of the right dot
        (0.5, 0.9, 1),  # upper half, outside the right lobe
        (0.5, 0.1, 0),  # lower half, outside the left lobe
        (0.25, 0.35, 1),  # left lobe, outside its dot
        (0.75, 0.65, 0),  # right lobe, outside its dot
    ],
)
def test_class_of_known_points(x, y, label):
    assert yin_yang_class(x, y) == label


def test_make_returns_shapes_and_dtypes():
    x, y = make_yin_yang(30, 0)
    assert (x.shape, x.dtype, y.shape, y.dtype) == ((30, 4), np.float32, (30,), np.int64)


def test_features_are_x_y_and_their_complements():
    x, _ = make_yin_yang(50, 1)
    np.testing.assert_allclose(x[:, 2:], 1.0 - x[:, :2], atol=1e-7)
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_points_lie_in_the_big_circle_and_carry_their_class():
    x, y = make_yin_yang(300, 2)
    assert np.all(np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5 + 1e-6)
    np.testing.assert_array_equal(yin_yang_class(x[:, 0], x[:, 1]), y)


def test_classes_are_balanced():
    _, y = make_yin_yang(100, 3)
    assert np.bincount(y, minlength=3).tolist() == [34, 33, 33]


def test_same_seed_gives_same_data():
    a, b = make_yin_yang(20, 7), make_yin_yang(20, 7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_different_seeds_give_different_data():
    assert not np.array_equal(make_yin_yang(20, 7)[0], make_yin_yang(20, 8)[0])


def test_radius_scaling_keeps_features_in_unit_square():
    x, y = make_yin_yang(200, 4, r_small=0.2, r_big=1.0)
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_array_equal(yin_yang_class(x[:, 0], x[:, 1]), y)


def test_make_rejects_dots_too_big_for_the_lobes():
    with pytest.raises(ConfigurationError, match=r"r_small must be a number in \(0, r_big / 2"):
        make_yin_yang(10, 0, r_small=0.3)


def test_make_rejects_negative_count():
    with pytest.raises(ConfigurationError, match="make_yin_yang n must be an integer >= 0; got -1"):
        make_yin_yang(-1, 0)


def test_make_rejects_bad_seed():
    with pytest.raises(ConfigurationError, match="seed must be a non-negative integer"):
        make_yin_yang(5, -3)


def test_class_names_follow_labels():
    assert CLASS_NAMES == ("yin", "yang", "dot")


def test_encode_maps_features_to_times_with_bias_first():
    (spikes,) = encode_yin_yang(np.array([[0.0, 0.25, 1.0, 0.75]]), 12.0, t_min=2.0)
    np.testing.assert_array_equal(spikes.end_spikes, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(spikes.spike_times, [2.0, 2.0, 4.5, 12.0, 9.5])
    assert spikes.spike_times.dtype == np.float32


def test_encode_without_bias_has_four_neurons():
    (spikes,) = encode_yin_yang(np.array([[0.5, 0.5, 0.5, 0.5]]), 10.0, bias=False)
    np.testing.assert_array_equal(spikes.end_spikes, [1, 2, 3, 4])
    np.testing.assert_allclose(spikes.spike_times, [5.0, 5.0, 5.0, 5.0])


def test_encoded_times_lie_within_t_min_and_t_max():
    x, _ = make_yin_yang(200, 5)
    for spikes in encode_yin_yang(x, 30.0, t_min=1.0):
        assert spikes.spike_times.min() >= 1.0 and spikes.spike_times.max() <= 30.0


def test_encode_rejects_wrong_feature_count():
    with pytest.raises(ConfigurationError, match=r"x must have shape \(examples, 4\); got shape"):
        encode_yin_yang(np.zeros((3, 2)), 10.0)


def test_encode_rejects_features_outside_unit_interval():
    with pytest.raises(ConfigurationError, match=r"features in \[0, 1\]; got values in \[0, 2\]"):
        encode_yin_yang(np.array([[0.0, 2.0, 0.5, 0.5]]), 10.0)


def test_generate_matches_make_then_encode():
    spikes, labels = generate_yin_yang_dataset(6, 20.0, offset=1.0, seed=9)
    x, y = make_yin_yang(6, 9)
    np.testing.assert_array_equal(labels, y)
    for got, want in zip(spikes, encode_yin_yang(x, 21.0, t_min=1.0), strict=True):
        np.testing.assert_array_equal(got.spike_times, want.spike_times)

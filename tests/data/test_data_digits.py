"""The digits loader (scikit-learn's embedded data set, optional extra)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from spikehooks import ConfigurationError
from spikehooks.data import load_digits


@pytest.fixture(scope="module")
def split():
    pytest.importorskip("sklearn")
    return load_digits(test_fraction=0.2, seed=0)


def test_split_shapes_and_dtypes(split):
    assert split.x_train.shape == (1438, 64) and split.x_test.shape == (359, 64)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64


def test_pixels_are_scaled_to_unit_interval(split):
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0


def test_split_is_stratified(split):
    # Each class loses round(0.2 * its count) examples to the test set.
    assert np.bincount(split.y_test).tolist() == [36, 36, 35, 37, 36, 36, 36, 36, 35, 36]


def test_train_and_test_are_disjoint_and_complete(split):
    from sklearn.datasets import load_digits as sklearn_load_digits

    everything = np.concatenate([split.x_train, split.x_test])
    raw = (sklearn_load_digits().data / 16.0).astype(np.float32)
    as_rows = {row.tobytes() for row in raw}
    assert len(everything) == len(raw)
    assert {row.tobytes() for row in everything} == as_rows


def test_same_seed_gives_same_split(split):
    again = load_digits(test_fraction=0.2, seed=0)
    np.testing.assert_array_equal(again.y_train, split.y_train)
    np.testing.assert_array_equal(again.x_test, split.x_test)


def test_rejects_test_fraction_of_one():
    with pytest.raises(ConfigurationError, match=r"test_fraction must be a number in \(0, 1\)"):
        load_digits(test_fraction=1.0)


def test_missing_scikit_learn_names_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "spikehooks\[datasets\]"'):
        load_digits()

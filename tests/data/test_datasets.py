"""mlGeNN's data-set dict helpers: size, split, batches, permutation."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks.data import batch_dataset, get_dataset_size, permute_dataset, split_dataset
from spikehooks.errors import ConfigurationError

DATA = {"a": np.arange(10), "b": [f"e{i}" for i in range(10)]}


def test_size_is_the_common_length_or_none():
    assert get_dataset_size(DATA) == 10
    assert get_dataset_size({"a": [1, 2], "b": [1]}) is None


@pytest.mark.parametrize(("split", "cut"), [(0.0, 10), (1.0, 0), (0.25, 8), (0.1, 9)])
def test_split_keeps_the_last_fraction_apart(split, cut):
    first, second = split_dataset(DATA, split)
    assert list(first["a"]) == list(range(cut)) and first["b"] == DATA["b"][:cut]
    assert list(second["a"]) == list(range(cut, 10))


@pytest.mark.parametrize("split", [-0.5, 1.5, "half"])
def test_a_split_outside_0_1_is_a_runtime_and_configuration_error(split):
    with pytest.raises(RuntimeError, match=r"split must be a number in \[0, 1\]"):
        split_dataset(DATA, split)
    with pytest.raises(ConfigurationError):
        split_dataset(DATA, split)


def test_batches_and_permutation():
    batches = batch_dataset(DATA, 4, 10)
    assert [list(b["a"]) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    order = np.arange(10)[::-1]
    shuffled = permute_dataset(DATA, order)
    assert list(shuffled["a"]) == list(order) and shuffled["b"][0] == "e9"
    with pytest.raises(ConfigurationError, match="one entry per example"):
        permute_dataset(DATA, [0, 1])

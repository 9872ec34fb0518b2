"""Example and neuron filters: every documented form, errors, and numpy agreement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikehooks.errors import ConfigurationError
from spikehooks_recorders._filters import ExampleFilter, neuron_ids


def ids(spec, shape=(784,)):
    return neuron_ids(spec, shape, "input", "SpikeRecorder(key='k')").tolist()


# ------------------------------------------------------------------ neuron filters
def test_none_selects_all():
    assert neuron_ids(None, (5,), "p", "r") is None


def test_int_selects_one_neuron():
    assert ids(1000 - 300) == [700]


def test_int_is_accepted_unlike_mlgenn():
    assert ids(0, (3,)) == [0]


def test_negative_int_counts_from_end():
    assert ids(-1) == [783]


def test_list_of_ints_sorted_unique():
    assert ids([702, 700, 702]) == [700, 702]


def test_bool_list_shorter_than_population_selects_prefix():
    assert ids([True] * 10) == list(range(10))


def test_bool_mask_of_population_shape():
    mask = np.zeros((4, 5), bool)
    mask[1, 2] = mask[3, 4] = True
    assert ids(mask, (4, 5)) == [7, 19]


def test_flat_bool_mask_on_nd_population():
    mask = np.zeros(20, bool)
    mask[[3, 11]] = True
    assert ids(mask, (4, 5)) == [3, 11]


def test_slice_every_other():
    assert ids(np.s_[0::2], (7,)) == [0, 2, 4, 6]


def test_tuple_of_index_sequences_2d():
    # (16, 16) and (20, 20) of a 32x32 population
    assert ids(([16, 20], [16, 20]), (32, 32)) == [16 * 32 + 16, 20 * 32 + 20]


def test_index_exp_2d():
    assert ids(np.index_exp[2:4, 2:4], (6, 6)) == [14, 15, 20, 21]


def test_index_exp_with_ellipsis():
    assert ids(np.index_exp[..., 1], (2, 3)) == [1, 4]


def test_tuple_of_ints_on_1d_population_is_a_list():
    assert ids((3, 1), (5,)) == [1, 3]


@pytest.mark.parametrize("spec, fragment", [
    (784, "[-784, 783]"),
    (-785, "[-784, 783]"),
    ([1, 900], "[-784, 783]"),
    ([1.5], "integer"),
    ([True] * 785, "bool mask of shape (784,)"),
    (np.s_[10:5], "at least one neuron"),
    ("abc", "an int"),
])
def test_bad_1d_filters(spec, fragment):
    with pytest.raises(ConfigurationError) as err:
        ids(spec)
    assert fragment in str(err.value)
    assert "'input' of shape (784,)" in str(err.value)


@pytest.mark.parametrize("spec, fragment", [
    (np.s_[0:2], "over all axes"),
    (3, "over all axes"),
    ([1, 2], "one per axis"),
    (np.zeros((5, 4), bool), "bool mask of shape (4, 5)"),
    (([1], [7]), "[-5, 4]"),
    (np.index_exp[1, 2, 3], "at most 2 axes"),
    (np.index_exp[None, 1], "np.newaxis"),
])
def test_bad_nd_filters(spec, fragment):
    with pytest.raises(ConfigurationError) as err:
        ids(spec, (4, 5))
    assert fragment in str(err.value)
    assert "shape (4, 5)" in str(err.value)


@settings(max_examples=150, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), data=st.data())
def test_tuple_index_matches_numpy(shape, data):
    shape = tuple(shape)
    index = []
    for extent in shape:
        if data.draw(st.booleans()):
            start = data.draw(st.integers(-extent, extent))
            stop = data.draw(st.integers(-extent, extent + 2))
            step = data.draw(st.sampled_from([1, 2, -1]))
            index.append(slice(start, stop, step))
        else:
            index.append(data.draw(st.lists(st.integers(-extent, extent - 1), min_size=1,
                                            max_size=4)))
    ref = np.arange(int(np.prod(shape))).reshape(shape)
    try:
        expected = np.unique(ref[tuple(np.asarray(i) if isinstance(i, list) else i
                                       for i in index)])
    except IndexError:  # fancy indices that do not broadcast
        with pytest.raises(ConfigurationError):
            neuron_ids(tuple(index), shape, "p", "r")
        return
    if expected.size == 0:
        with pytest.raises(ConfigurationError):
            neuron_ids(tuple(index), shape, "p", "r")
        return
    assert neuron_ids(tuple(index), shape, "p", "r").tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 100), data=st.data())
def test_int_lists_match_numpy_1d(n, data):
    chosen = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=10))
    assert ids(chosen, (n,)) == sorted({c % n for c in chosen})


@settings(max_examples=100, deadline=None)
@given(mask=st.lists(st.booleans(), min_size=1, max_size=40))
def test_bool_prefix_mask_1d(mask):
    if not any(mask):
        with pytest.raises(ConfigurationError):
            ids(mask, (40,))
        return
    assert ids(mask, (40,)) == [i for i, m in enumerate(mask) if m]


# ------------------------------------------------------------------ example filters
def sel(spec, indices):
    return ExampleFilter(spec, "r").select(np.asarray(indices, dtype=np.int64)).tolist()


def test_example_filter_none_selects_every_entry():
    assert sel(None, [4, 5, 6]) == [0, 1, 2]


def test_example_filter_int():
    assert sel(1000, [998, 999, 1000, 1001]) == [2]


def test_example_filter_unsorted_ints_keep_batch_order():
    assert sel([1002, 1000], [1000, 1001, 1002]) == [0, 2]


def test_example_filter_bools_past_end_not_recorded():
    assert sel([True] * 10, [8, 9, 10, 11]) == [0, 1]


@pytest.mark.parametrize("spec, fragment", [
    (-1, ">= 0"), ([1, 2.0], "only ints or only bools"), ("a", "None, an int"),
])
def test_example_filter_errors(spec, fragment):
    with pytest.raises(ConfigurationError, match="example_filter") as err:
        ExampleFilter(spec, "r")
    assert fragment in str(err.value)


def test_example_filter_range_checked_against_data_set():
    with pytest.raises(ConfigurationError, match="0..9"):
        ExampleFilter([3, 10], "r").check_range(10, "r")


@settings(max_examples=100, deadline=None)
@given(chosen=st.lists(st.integers(0, 50), max_size=10), n=st.integers(1, 60))
def test_example_filter_matches_set_membership(chosen, n):
    batch = np.arange(n)
    spec = chosen if chosen else None
    expected = [i for i in range(n) if spec is None or i in chosen]
    assert sel(spec, batch) == expected

"""The row bookkeeping of data-parallel e-prop checkpoints (``docs/eprop.md``)."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks.compilers import _eprop_rows
from spikehooks.errors import ConfigurationError


def _rank_state(rank: int) -> dict:
    # Two local rows; a delay ring keeps its rows on axis 1.
    rows = np.arange(2) + 2 * rank
    return {
        "backend": {"pop:hid": {"var:V": np.repeat(rows[:, None], 3, axis=1).astype(np.float32)},
                    "conn:c": {"ring": np.stack([rows, rows + 10]).astype(np.float32)[..., None]}},
        "traces": {"ef:c": np.broadcast_to(rows[:, None, None], (2, 4, 3)).astype(np.float32),
                   "started": rows == 2},
    }


def test_join_puts_rank_rows_in_global_order_and_take_rows_gives_each_back():
    joined = _eprop_rows.join([_rank_state(0), _rank_state(1)])
    np.testing.assert_array_equal(joined["backend"]["pop:hid"]["var:V"][:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(joined["backend"]["conn:c"]["ring"][..., 0],
                                  [[0, 1, 2, 3], [10, 11, 12, 13]])
    np.testing.assert_array_equal(joined["traces"]["started"], [False, False, True, False])
    assert joined["traces"]["ef:c"].shape == (4, 4, 3)
    # A checkpoint's copy: nothing may change it in place.
    assert not joined["traces"]["ef:c"].flags.writeable
    for rank in range(2):
        own = _eprop_rows.take_rows(joined, 2 * rank, 2 * rank + 2)
        want = _rank_state(rank)
        np.testing.assert_array_equal(own["backend"]["conn:c"]["ring"],
                                      want["backend"]["conn:c"]["ring"])
        np.testing.assert_array_equal(own["traces"]["ef:c"], want["traces"]["ef:c"])
        np.testing.assert_array_equal(own["traces"]["started"], want["traces"]["started"])


def test_a_state_of_another_global_batch_size_is_refused_naming_the_entry():
    joined = _eprop_rows.join([_rank_state(0), _rank_state(1)])
    _eprop_rows.check_global_rows(joined, 4, "training state eprop_carry")
    with pytest.raises(ConfigurationError,
                       match=r"eprop_carry must hold the global batch's 6 rows .*got 4 rows in "
                             r"'var:V'\. Load state saved with the same global batch size"):
        _eprop_rows.check_global_rows(joined, 6, "training state eprop_carry")

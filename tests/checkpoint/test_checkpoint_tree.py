"""Property test: any state tree survives a save and a load unchanged, types included."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikehooks.serialisers import NumpySerialiser

_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8),
    st.floats(allow_nan=False), _arrays, st.builds(np.float32, st.floats(width=32)),
)
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
        st.dictionaries(st.integers(), children, max_size=2),
    ),
    max_leaves=12,
)


def _same(a, b) -> bool:
    if isinstance(a, (np.ndarray, np.generic)):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())  # bit for bit: NaN payloads included
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_trees)
@example(tree={"\x00": np.float32(0.0), "a/../b": np.zeros(2)})
@example(tree={"file": np.zeros(1), "allow_pickle": np.ones(1)})
def test_any_state_tree_round_trips(tree, tmp_path):
    ser = NumpySerialiser(tmp_path)
    ser.save(("t",), {"state": tree, "other": [tree]})
    loaded = ser.load(("t",))
    assert _same(loaded["state"], tree)
    assert _same(loaded["other"], [tree])

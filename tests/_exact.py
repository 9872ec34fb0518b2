"""Exact (bit-for-bit) equality of nested results, for the backend comparison tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_same(a: Any, b: Any) -> None:
    """Assert ``a`` and ``b`` are equal to the bit: dicts (same keys, same order),
    sequences (same type and length; lists, tuples, the recorders' per-example
    lists) and arrays or scalars (same dtype, same values, NaNs in the same places).
    """
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif not isinstance(a, np.ndarray) and hasattr(a, "__len__"):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)

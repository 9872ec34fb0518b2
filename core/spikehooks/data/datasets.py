"""mlGeNN's data-set dictionary helpers: ``{population or name: sequence of examples}``.

A data set here is what ``evaluate``/``train`` take as ``x`` or ``y``: a dict
whose values are sequences (arrays or lists) with one entry per example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError


class DatasetSplitError(ConfigurationError, RuntimeError):
    """A split fraction outside [0, 1]; a RuntimeError too, as mlGeNN raises."""


def get_dataset_size(data: Mapping[Any, Sequence[Any]]) -> int | None:
    """Return the number of examples, or None if the entries disagree.

    Parameters
    ----------
    data : dict
        Key -> sequence of examples.

    Returns
    -------
    int or None
        The common length (the first entry's, for an empty dict: None).
    """
    sizes = {len(values) for values in data.values()}
    return sizes.pop() if len(sizes) == 1 else None


def split_point(size: int, split: float) -> int:
    """Index where a ``split`` fraction is cut off the end of ``size`` examples.

    ``round((1 - split) * size)`` with Python's rounding (halves to even), as
    mlGeNN does, so the same ``validation_split`` holds out the same examples.
    """
    return int(round((1.0 - float(split)) * size))


def split_dataset(data: Mapping[Any, Sequence[Any]],
                  split: float) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Split every entry at ``round((1 - split) * size)``: (first part, last ``split``).

    Parameters
    ----------
    data : dict
        Key -> sequence of examples.
    split : float
        Fraction in [0, 1] to put in the second part (e.g. validation).

    Returns
    -------
    (dict, dict)
        The same keys, with the leading and the trailing examples.
    """
    if not isinstance(split, (int, float, np.integer, np.floating)) or not 0.0 <= split <= 1.0:
        raise DatasetSplitError(
            f"split_dataset split must be a number in [0, 1]; got {split!r}. Pass the "
            f"fraction to hold out, e.g. 0.1."
        )
    size = get_dataset_size(data)
    if size is None:
        raise ConfigurationError(
            f"split_dataset data must hold the same number of examples under every key; got "
            f"{ {k: len(v) for k, v in data.items()} }. Pass entries of equal length."
        )
    cut = split_point(size, split)
    return ({k: v[:cut] for k, v in data.items()}, {k: v[cut:] for k, v in data.items()})


def batch_dataset(data: Mapping[Any, Sequence[Any]], batch_size: int,
                  size: int) -> list[dict[Any, Any]]:
    """Return one dict per batch of ``batch_size`` consecutive examples (the last may be short)."""
    return [{k: v[start:start + batch_size] for k, v in data.items()}
            for start in range(0, size, batch_size)]


def permute_dataset(data: Mapping[Any, Sequence[Any]],
                    indices: Sequence[int] | np.ndarray) -> dict[Any, Any]:
    """Return ``data`` with every entry reordered by ``indices`` (arrays stay arrays)."""
    if len(indices) != get_dataset_size(data):
        raise ConfigurationError(
            f"permute_dataset indices must have one entry per example "
            f"({get_dataset_size(data)}); got {len(indices)}. Pass a permutation of the size."
        )
    return {k: v[np.asarray(indices)] if isinstance(v, np.ndarray) else [v[i] for i in indices]
            for k, v in data.items()}


__all__ = ["DatasetSplitError", "batch_dataset", "get_dataset_size", "permute_dataset",
           "split_dataset"]

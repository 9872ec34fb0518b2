"""Example and neuron filters: normalise first, validate once, then trust.

Example filters select entries of the whole data set (across batches);
neuron filters select neurons of a population and are turned into sorted,
unique flat C-order ids, so everything downstream works on one form.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


class ExampleFilter:
    """Which examples of the data set to record.

    Parameters
    ----------
    spec : None, int, sequence of int or sequence of bool
        ``None``: every example.  ``int k``: only example ``k``.  Ints: those
        examples (any order, duplicates ignored; recorded in data-set order).
        Bools: a mask over the data set; examples past its end are not
        recorded.
    owner : str
        Names the recorder in error messages.

    Attributes
    ----------
    mask : numpy.ndarray of bool, shape (n,), or None
        ``mask[i]`` tells whether example ``i`` is recorded; examples at or
        past ``n`` are not.  ``None`` records everything.
    """

    def __init__(self, spec: Any, owner: str):
        self.spec = spec
        self.mask: np.ndarray | None = None
        self.is_bool_mask = False
        if spec is None:
            return
        if _is_int(spec):
            spec = [spec]
        elif isinstance(spec, np.ndarray):
            spec = spec.ravel().tolist() if spec.ndim else [spec.item()]
        if isinstance(spec, (str, bytes)) or not isinstance(spec, (Sequence, range)):
            raise ConfigurationError(
                f"{owner} example_filter must be None, an int, a sequence of ints or a "
                f"sequence of bools; got {spec!r}. Pass e.g. example_filter=[0, 5]."
            )
        items = list(spec)
        if items and all(_is_bool(v) for v in items):
            self.mask = np.asarray(items, dtype=bool)
            self.is_bool_mask = True
            return
        bad = [v for v in items if not _is_int(v)]
        if bad:
            raise ConfigurationError(
                f"{owner} example_filter must hold only ints or only bools; got "
                f"{bad[0]!r} in {spec!r}. Use integer example indices or a bool mask."
            )
        negative = [v for v in items if v < 0]
        if negative:
            raise ConfigurationError(
                f"{owner} example_filter must hold example indices >= 0; got {negative[0]}. "
                f"Indices count from 0 over the whole data set."
            )
        mask = np.zeros(max(items) + 1 if items else 0, dtype=bool)
        mask[np.asarray(items, dtype=np.int64)] = True
        self.mask = mask

    @property
    def count(self) -> int | None:
        """Number of examples selected (None: all)."""
        return None if self.mask is None else int(self.mask.sum())

    def check_range(self, num_examples: int | None, owner: str) -> None:
        """Raise when an int index cannot exist in a data set of ``num_examples``."""
        if self.mask is None or num_examples is None or self.is_bool_mask or not self.mask.size:
            return
        last = int(np.flatnonzero(self.mask)[-1])
        if last >= num_examples:
            raise ConfigurationError(
                f"{owner} example_filter must index examples 0..{num_examples - 1} of this "
                f"run; got {last}. Check the index against the data set's length."
            )

    def select(self, example_indices: np.ndarray) -> np.ndarray:
        """Return positions (int64) in the batch of the examples to record."""
        if self.mask is None:
            return np.arange(len(example_indices), dtype=np.int64)
        inside = example_indices < self.mask.size
        keep = np.zeros(len(example_indices), dtype=bool)
        keep[inside] = self.mask[example_indices[inside]]
        return np.flatnonzero(keep)


def _describe_pop(name: str, shape: tuple[int, ...]) -> str:
    return f"population {name!r} of shape {shape} ({int(np.prod(shape))} neurons)"


def neuron_ids(spec: Any, shape: tuple[int, ...], name: str, owner: str,
               param: str = "neuron_filter") -> np.ndarray | None:
    """Turn a neuron filter into sorted unique flat C-order ids.

    Parameters
    ----------
    spec : None, int, sequence of int, sequence/array of bool, slice or tuple
        ``None``: all neurons (returns None).  ``int``/ints: flat ids of a
        1-D population (negative ids count from the end).  Bools: a mask
        shaped like the population or flat; on a 1-D population a shorter
        list selects among the first neurons.  ``slice``/``np.s_[...]``:
        1-D populations.  A tuple (``np.index_exp[...]``, or index sequences
        per axis as in ``([16, 20], [16, 20])``): read exactly as numpy
        indexing of an array of the population's shape.
    shape : tuple of int
        The population's shape.
    name : str
        The population's name, for messages.
    owner : str
        The recorder, for messages.

    Returns
    -------
    numpy.ndarray of int64, shape (n_selected,), or None
    """
    if spec is None:
        return None
    size = int(np.prod(shape))
    where = _describe_pop(name, shape)
    nd = len(shape) > 1

    def fail(expected: str, fix: str) -> ConfigurationError:
        return ConfigurationError(f"{owner} {param} must be {expected}; got {spec!r} for "
                                  f"{where}. {fix}")

    if isinstance(spec, tuple) and not nd and all(_is_int(v) for v in spec):
        spec_index: Any = list(spec)
    else:
        spec_index = spec
    if isinstance(spec_index, (str, bytes)):
        raise fail("an int, ints, bools, a slice or a numpy index", "See docs/recording.md.")
    if _is_int(spec_index) or isinstance(spec_index, slice):
        if nd:
            raise fail("a numpy index over all axes for a multi-dimensional population",
                       "Use np.index_exp[...] (e.g. np.index_exp[2:4, 2:4]) or a tuple of "
                       "index sequences, one per axis.")
        spec_index = [spec_index] if _is_int(spec_index) else spec_index
    mask = np.zeros(shape, dtype=bool)
    if isinstance(spec_index, slice):
        if spec_index.step == 0:
            raise fail("a slice with a non-zero step", "Use e.g. np.s_[0::2].")
        mask[spec_index] = True
    elif isinstance(spec_index, tuple):
        _index_tuple(mask, spec_index, shape, fail)
    else:
        arr = np.asarray(spec_index)
        if arr.dtype == bool:
            _bool_mask(mask, arr, shape, size, fail)
        elif arr.size == 0:
            raise fail("a non-empty selection", "Pass at least one neuron.")
        elif arr.dtype.kind not in "iu":
            raise fail("integer neuron ids or bools", "Indices must be ints.")
        elif nd:
            raise fail("a numpy index over all axes for a multi-dimensional population",
                       "Use a tuple of index sequences, one per axis, e.g. ([16, 20], [16, 20]), "
                       "or a bool mask of the population's shape.")
        else:
            _check_range(arr, size, fail)
            mask[arr.ravel()] = True
    ids = np.flatnonzero(mask.ravel())
    if ids.size == 0:
        raise fail("a selection of at least one neuron", "Widen the filter.")
    return ids.astype(np.int64)


def _check_range(arr: np.ndarray, extent: int, fail: Any) -> None:
    if arr.size and (arr.min() < -extent or arr.max() >= extent):
        bad = arr[(arr < -extent) | (arr >= extent)].ravel()[0]
        raise fail(f"indices in [{-extent}, {extent - 1}]",
                   f"Index {int(bad)} is out of range.")


def _bool_mask(mask: np.ndarray, arr: np.ndarray, shape: tuple[int, ...], size: int,
               fail: Any) -> None:
    if arr.shape == shape:
        mask[...] = arr
    elif arr.ndim == 1 and arr.size == size:
        mask.ravel()[...] = arr
    elif arr.ndim == 1 and len(shape) == 1 and arr.size < size:
        mask[: arr.size] = arr
    else:
        raise fail(f"a bool mask of shape {shape} or ({size},)",
                   "Build the mask with np.zeros(shape, bool).")


def _index_tuple(mask: np.ndarray, index: tuple, shape: tuple[int, ...], fail: Any) -> None:
    if any(part is None for part in index) or sum(part is Ellipsis for part in index) > 1:
        raise fail("a numpy index without np.newaxis and with at most one '...'",
                   "Index the population's own axes only.")
    if any(part is Ellipsis for part in index):
        at = next(i for i, part in enumerate(index) if part is Ellipsis)
        fill = (slice(None),) * (len(shape) - len(index) + 1)
        index = index[:at] + fill + index[at + 1:]
    if len(index) > len(shape):
        raise fail(f"a numpy index with at most {len(shape)} axes",
                   "Use one entry per axis of the population.")
    cleaned: list[Any] = []
    for axis, part in enumerate(index):
        if isinstance(part, slice):
            if isinstance(part, slice) and part.step == 0:
                raise fail("slices with a non-zero step", "Use e.g. np.s_[0::2].")
            cleaned.append(part)
            continue
        arr = np.asarray(part)
        if arr.dtype == bool or arr.size == 0 or arr.dtype.kind not in "iu":
            raise fail("integer indices or slices in every axis of the tuple",
                       f"Axis {axis} holds {part!r}.")
        _check_range(arr, shape[axis], fail)
        cleaned.append(arr)
    try:
        mask[tuple(cleaned)] = True
    except (IndexError, ValueError) as exc:
        raise fail("a valid numpy index for the population's shape", str(exc)) from exc

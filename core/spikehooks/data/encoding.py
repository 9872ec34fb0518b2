"""Latency encoders: static data to one spike per input, earlier for stronger inputs.

Both encoders follow mlGeNN's ``ml_genn.utils.data`` functions of the same
names, so a ported script gives the same spike times.  ``data`` has shape
``(examples, features...)``; the features of each example are flattened in C
order, so neuron ``j`` of the input population receives feature
``data[i].ravel()[j]``.  An input strictly above ``thresh`` emits exactly one
spike; any other input emits none.  The result is a list with one
:class:`~spikehooks.data.PreprocessedSpikes` per example (times in ms,
float32).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ..checks import real
from ..errors import ConfigurationError
from .spikes import PreprocessedSpikes

#: Intensity of the brightest input of :func:`linear_latency_encode_data` (8-bit data).
MAX_INTENSITY = 255.0


#: Examples encoded per vectorised block: bounds the float64 temporaries
#: (MNIST's 60000 x 784 at once would need over a gigabyte).
_BLOCK = 4096


def _as_examples(data: ArrayLike, where: str) -> np.ndarray:
    """Return ``data`` as a checked ``(examples, features)`` array of its own dtype."""
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise ConfigurationError(
            f"{where} data must be a numeric array; got dtype {arr.dtype}. "
            f"Convert it with np.asarray(data, dtype=float)."
        )
    num_features = int(np.prod(arr.shape[1:])) if arr.ndim >= 2 else 0
    if num_features == 0:
        raise ConfigurationError(
            f"{where} data must have shape (examples, features...) with at least one "
            f"feature; got shape {arr.shape}. For a single example pass data[np.newaxis]."
        )
    flat = arr.reshape(arr.shape[0], num_features)
    if arr.dtype.kind == "f":
        finite = np.isfinite(flat)
        if not finite.all():
            raise ConfigurationError(
                f"{where} data must be finite; got {int(flat.size - finite.sum())} NaN or "
                f"infinite values. Replace them (e.g. np.nan_to_num) before encoding."
            )
    return flat


def _encode(
    flat: np.ndarray, thresh: float, spike_time: Callable[[np.ndarray], np.ndarray]
) -> list[PreprocessedSpikes]:
    """Give each input above ``thresh`` one spike at ``spike_time(value)`` ms.

    ``flat`` is ``(examples, features)``; ``spike_time`` maps a 1-D float64
    array of above-threshold values to their spike times.
    """
    encoded: list[PreprocessedSpikes] = []
    for start in range(0, len(flat), _BLOCK):
        block = flat[start : start + _BLOCK].astype(np.float64)
        mask = block > thresh
        end_spikes = np.cumsum(mask, axis=1, dtype=np.int32)
        # Boolean indexing walks rows in order, so each example's spikes are
        # contiguous and already sorted by neuron id (one spike per neuron).
        spike_times = spike_time(block[mask]).astype(np.float32)
        per_example = np.split(spike_times, np.cumsum(end_spikes[:, -1])[:-1])
        encoded.extend(
            PreprocessedSpikes(end, times)
            for end, times in zip(end_spikes, per_example, strict=True)
        )
    return encoded


def linear_latency_encode_data(
    data: ArrayLike, max_time: float, min_time: float = 0.0, thresh: float = 1
) -> list[PreprocessedSpikes]:
    """Encode 8-bit data as one spike per input, linearly earlier for brighter inputs.

    An input ``x > thresh`` spikes at
    ``min_time + (255 - x) / 255 * (max_time - min_time)`` ms: 255 spikes at
    ``min_time``, 0 would spike at ``max_time``.

    Parameters
    ----------
    data : array_like, shape (examples, features...)
        Intensities in ``[0, 255]`` (e.g. uint8 images); flattened per
        example in C order.  Scale data in ``[0, 1]`` by 255 first.
    max_time : float
        Spike time in ms of an input of intensity 0.
    min_time : float, default 0.0
        Spike time in ms of an input of intensity 255; ``0 <= min_time <= max_time``.
    thresh : float, default 1
        Inputs must be strictly above it to spike.

    Returns
    -------
    list of PreprocessedSpikes
        One per example: ``end_spikes`` int32 ``(features,)``, ``spike_times``
        float32 in ms within ``[min_time, max_time]``.

    Raises
    ------
    ConfigurationError
        Malformed data, intensities outside ``[0, 255]`` or invalid times.
    """
    where = "linear_latency_encode_data"
    flat = _as_examples(data, where)
    min_time = real(
        min_time, where, "min_time", "a finite number of ms >= 0",
        "Spike times cannot be negative.", lambda v: v >= 0.0,
    )
    max_time = real(
        max_time, where, "max_time", f"a finite number of ms >= min_time ({min_time:g})",
        "max_time is the spike time of the dimmest input, min_time of the brightest.",
        lambda v: v >= min_time,
    )
    thresh = real(thresh, where, "thresh", "a finite number", "Pass e.g. thresh=1.")
    if flat.size:
        low, high = float(flat.min()), float(flat.max())
        if low < 0.0 or high > MAX_INTENSITY:
            raise ConfigurationError(
                f"{where} data must hold intensities in [0, 255]; got values in "
                f"[{low:g}, {high:g}]. Rescale them to [0, 255], e.g. "
                f"(x * 255).astype(np.uint8) for x in [0, 1]."
            )
        if flat.dtype.kind == "f" and high <= min(1.0, thresh):
            # mlGeNN's encoder silently yields no spike at all for data in [0, 1].
            raise ConfigurationError(
                f"{where} data must hold 8-bit intensities in [0, 255]; got floats in "
                f"[{low:g}, {high:g}], none above thresh={thresh:g}, so no input would "
                f"spike. Scale data in [0, 1] by 255, e.g. (x * 255).astype(np.uint8)."
            )
    span = max_time - min_time
    return _encode(
        flat, thresh, lambda x: min_time + (MAX_INTENSITY - x) / MAX_INTENSITY * span
    )


def log_latency_encode_data(
    data: ArrayLike, tau_eff: float, thresh: float
) -> list[PreprocessedSpikes]:
    r"""Encode data as one spike per input, logarithmically earlier for stronger inputs.

    An input ``x > thresh`` spikes at ``tau_eff * log(x / (x - thresh))`` ms,
    the time a leaky integrator with time constant ``tau_eff`` driven by a
    constant ``x`` takes to reach ``thresh``; weaker inputs never reach it
    and stay silent.  Times are in ``(0, inf)``, falling towards 0 as ``x``
    grows.

    Parameters
    ----------
    data : array_like, shape (examples, features...)
        Input values (any finite numbers); flattened per example in C order.
    tau_eff : float
        Time scale in ms, > 0.
    thresh : float
        Threshold, > 0; inputs must be strictly above it to spike.

    Returns
    -------
    list of PreprocessedSpikes
        One per example: ``end_spikes`` int32 ``(features,)``, ``spike_times``
        float32 in ms.

    Raises
    ------
    ConfigurationError
        Malformed data or a non-positive ``tau_eff`` or ``thresh``.
    """
    where = "log_latency_encode_data"
    flat = _as_examples(data, where)
    tau_eff = real(
        tau_eff, where, "tau_eff", "a finite number of ms > 0",
        "It sets the time scale of the spikes.", lambda v: v > 0.0,
    )
    thresh = real(
        thresh, where, "thresh", "a finite number > 0",
        "With thresh <= 0 every spike time would be 0 or negative.", lambda v: v > 0.0,
    )
    return _encode(flat, thresh, lambda x: tau_eff * np.log(x / (x - thresh)))


__all__ = ["MAX_INTENSITY", "linear_latency_encode_data", "log_latency_encode_data"]

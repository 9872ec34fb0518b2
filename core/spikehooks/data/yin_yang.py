"""The Yin-Yang data set (Kriener et al. 2021) and its time-to-first-spike encoding.

Points are drawn uniformly inside a yin-yang symbol of radius ``r_big``
centred at ``(r_big, r_big)``, with two "eyes" (dots) of radius ``r_small``.
Each point belongs to one of three classes, labelled as in the reference
implementation of Kriener et al.: 0 (``"yin"``), 1 (``"yang"``) and
2 (``"dot"``).  Classes are balanced: the labels are fixed first (as equal in
number as ``n`` allows, in random order) and a point is then drawn for each by
rejection sampling.  With coordinates ``x, y`` scaled to ``[0, 1]`` the four
features are ``(x, y, 1 - x, 1 - y)``, so every example has the same summed
input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..checks import integer, make_rng, real
from ..errors import ConfigurationError
from .spikes import PreprocessedSpikes

#: Names of the classes, indexed by label.
CLASS_NAMES = ("yin", "yang", "dot")
#: Number of input features of an example: ``(x, y, 1 - x, 1 - y)``.
NUM_FEATURES = 4


def yin_yang_class(
    x: ArrayLike, y: ArrayLike, *, r_small: float = 0.1, r_big: float = 0.5
) -> np.ndarray:
    """Return the class label of each point (points assumed inside the big circle).

    Parameters
    ----------
    x, y : array_like of float
        Coordinates in ``[0, 2 * r_big]`` (unscaled), broadcast together.
    r_small, r_big : float
        Radii of the dots and of the whole symbol.

    Returns
    -------
    numpy.ndarray of int64
        0 (yin), 1 (yang) or 2 (dot) per point.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    # Class 1 is the upper half without the right lobe, plus the left lobe
    # without its dot, plus the right dot (the reference code's criteria).
    class_one = (
        (d_right <= r_small)
        | ((d_left > r_small) & (d_left <= 0.5 * r_big))
        | ((y > r_big) & (d_right > 0.5 * r_big))
    )
    dot = (d_right < r_small) | (d_left < r_small)
    return np.where(dot, 2, class_one.astype(np.int64)).astype(np.int64)


def make_yin_yang(
    n: int,
    seed: int | np.random.Generator | None,
    *,
    r_small: float = 0.1,
    r_big: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` examples of the Yin-Yang data set.

    Parameters
    ----------
    n : int
        Number of examples.
    seed : int, numpy.random.Generator or None
        Seed of the draw (same seed, same data); ``None`` draws fresh
        entropy.  Use different seeds for training and test sets.
    r_small : float, default 0.1
        Radius of the dots, ``0 < r_small < r_big / 2``.
    r_big : float, default 0.5
        Radius of the symbol; coordinates are scaled by ``1 / (2 * r_big)``
        so features are in ``[0, 1]`` whatever the radius.

    Returns
    -------
    x : numpy.ndarray of float32, shape (n, 4)
        Features ``(x, y, 1 - x, 1 - y)``, dimensionless, in ``[0, 1]``.
    y : numpy.ndarray of int64, shape (n,)
        Labels: 0 yin, 1 yang, 2 dot (see :data:`CLASS_NAMES`); the class
        counts differ by at most one.

    Raises
    ------
    ConfigurationError
        A negative ``n`` or radii that do not make a yin-yang symbol.
    """
    where = "make_yin_yang"
    n = integer(n, where, "n", "an integer >= 0", "Pass the number of examples.",
                lambda v: v >= 0)
    r_big = real(r_big, where, "r_big", "a finite number > 0", "The default is 0.5.",
                 lambda v: v > 0)
    r_small = real(
        r_small, where, "r_small", f"a number in (0, r_big / 2 = {r_big / 2:g})",
        "The dots must fit inside the lobes; the default is 0.1.",
        lambda v: 0 < v < 0.5 * r_big,
    )
    rng = make_rng(seed, where)
    labels = rng.permutation(np.arange(n, dtype=np.int64) % len(CLASS_NAMES))
    points = np.empty((n, 2), dtype=np.float64)
    for label in range(len(CLASS_NAMES)):
        rows = np.flatnonzero(labels == label)
        found = np.empty((0, 2))
        while len(found) < len(rows):
            # Over-draw (the dots cover ~6% of the square) to need few rounds.
            candidates = rng.uniform(0.0, 2.0 * r_big, size=(max(64, 20 * len(rows)), 2))
            cx, cy = candidates[:, 0], candidates[:, 1]
            inside = np.hypot(cx - r_big, cy - r_big) <= r_big
            keep = inside & (yin_yang_class(cx, cy, r_small=r_small, r_big=r_big) == label)
            found = np.concatenate([found, candidates[keep]])
        points[rows] = found[: len(rows)]
    unit = (points / (2.0 * r_big)).astype(np.float32)
    features = np.concatenate([unit, 1.0 - unit], axis=1)
    return features, labels


def encode_yin_yang(
    x: ArrayLike, t_max: float, *, t_min: float = 0.0, bias: bool = True
) -> list[PreprocessedSpikes]:
    """Encode Yin-Yang features as one spike per feature (time to first spike).

    Feature value ``v`` in ``[0, 1]`` spikes at ``t_min + v * (t_max - t_min)``
    ms.  With ``bias`` an extra input neuron, placed first (neuron 0), spikes
    at ``t_min`` in every example, giving the network a reference time.

    Parameters
    ----------
    x : array_like of float, shape (examples, 4)
        Features from :func:`make_yin_yang`, in ``[0, 1]``.
    t_max : float
        Spike time in ms of a feature equal to 1.
    t_min : float, default 0.0
        Spike time in ms of a feature equal to 0, and of the bias spike;
        ``0 <= t_min <= t_max``.
    bias : bool, default True
        Add the bias neuron.

    Returns
    -------
    list of PreprocessedSpikes
        One per example, for 5 input neurons (bias first) or 4: one spike
        each, ``spike_times`` float32 in ms within ``[t_min, t_max]``.

    Raises
    ------
    ConfigurationError
        Features of the wrong shape or outside ``[0, 1]``, invalid times.
    """
    where = "encode_yin_yang"
    t_min = real(t_min, where, "t_min", "a finite number of ms >= 0",
                 "Spike times cannot be negative.", lambda v: v >= 0)
    t_max = real(t_max, where, "t_max", f"a finite number of ms >= t_min ({t_min:g})",
                 "t_max is the spike time of a feature equal to 1.", lambda v: v >= t_min)
    feats = np.asarray(x, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[1] != NUM_FEATURES:
        raise ConfigurationError(
            f"{where} x must have shape (examples, {NUM_FEATURES}); got shape {feats.shape}. "
            f"Pass the features returned by make_yin_yang."
        )
    if feats.size and not (np.isfinite(feats).all() and feats.min() >= 0 and feats.max() <= 1):
        raise ConfigurationError(
            f"{where} x must hold finite features in [0, 1]; got values in "
            f"[{np.nanmin(feats):g}, {np.nanmax(feats):g}]. Pass the features of make_yin_yang."
        )
    times = t_min + feats * (t_max - t_min)
    if bias:
        times = np.concatenate([np.full((len(times), 1), t_min), times], axis=1)
    num_neurons = times.shape[1]
    end_spikes = np.arange(1, num_neurons + 1, dtype=np.int32)
    # One spike per neuron: the times are already grouped by neuron id.
    return [PreprocessedSpikes(end_spikes.copy(), row) for row in times.astype(np.float32)]


def generate_yin_yang_dataset(
    size: int,
    scale: float,
    offset: float = 0.0,
    bias: bool = True,
    r_small: float = 0.1,
    r_big: float = 0.5,
    *,
    seed: int | np.random.Generator | None = None,
) -> tuple[list[PreprocessedSpikes], np.ndarray]:
    """Draw and encode Yin-Yang examples in one call, with mlGeNN's signature.

    Equivalent to ``make_yin_yang`` followed by
    ``encode_yin_yang(x, t_max=offset + scale, t_min=offset, bias=bias)``.

    Parameters
    ----------
    size : int
        Number of examples.
    scale : float
        Spike time span in ms (a feature equal to 1 spikes at ``offset + scale``).
    offset : float, default 0.0
        Earliest spike time in ms, and the time of the bias spike.
    bias : bool, default True
        Add a bias neuron (neuron 0) spiking at ``offset``.
    r_small, r_big : float
        Radii, as in :func:`make_yin_yang`.
    seed : int, numpy.random.Generator or None, default None
        Seed of the draw; ``None`` (as in mlGeNN) draws fresh data each call.

    Returns
    -------
    spikes : list of PreprocessedSpikes
        One per example (see :func:`encode_yin_yang`).
    labels : numpy.ndarray of int64, shape (size,)
        0 yin, 1 yang, 2 dot.
    """
    where = "generate_yin_yang_dataset"
    scale = real(scale, where, "scale", "a finite number of ms >= 0",
                 "It is the spike time span of the features.", lambda v: v >= 0)
    offset = real(offset, where, "offset", "a finite number of ms >= 0",
                  "Spike times cannot be negative.", lambda v: v >= 0)
    x, labels = make_yin_yang(size, seed, r_small=r_small, r_big=r_big)
    return encode_yin_yang(x, t_max=offset + scale, t_min=offset, bias=bias), labels


__all__ = [
    "CLASS_NAMES",
    "NUM_FEATURES",
    "encode_yin_yang",
    "generate_yin_yang_dataset",
    "make_yin_yang",
    "yin_yang_class",
]

"""Initialisers: how weights and initial state values are drawn.

Anywhere the network API takes a value (a weight, an initial ``v``), it
accepts a plain number, an array, an :class:`Initializer` object, or a
registered name such as ``"normal"`` / ``("normal", {"sd": 0.1})``.
Values are drawn once, at compile time, from the compiler's seeded
generator, and stored as float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigurationError
from .plugins import registry


class Initializer:
    """Base class: draws an array of a given shape from a generator."""

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return a float32 array of ``shape`` drawn from ``rng``."""
        raise NotImplementedError


class Normal(Initializer):
    """Normally distributed values.

    Parameters
    ----------
    mean : float
        Mean of the distribution.
    sd : float
        Standard deviation (>= 0).
    """

    def __init__(self, mean: float = 0.0, sd: float = 1.0):
        if not np.isfinite(mean) or not np.isfinite(sd) or sd < 0:
            raise ConfigurationError(
                f"Normal sd must be a finite number >= 0 and mean finite; got mean={mean!r}, "
                f"sd={sd!r}. Pass e.g. Normal(mean=0.0, sd=0.1)."
            )
        self.mean = float(mean)
        self.sd = float(sd)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.sd, shape).astype(np.float32)

    def __repr__(self) -> str:
        return f"Normal(mean={self.mean}, sd={self.sd})"


class Uniform(Initializer):
    """Uniformly distributed values in ``[min, max)``.

    Parameters
    ----------
    min, max : float
        Bounds, ``min <= max``.
    """

    def __init__(self, min: float = 0.0, max: float = 1.0):
        if not (np.isfinite(min) and np.isfinite(max)) or min > max:
            raise ConfigurationError(
                f"Uniform bounds must be finite with min <= max; got min={min!r}, max={max!r}. "
                f"Pass e.g. Uniform(min=-0.1, max=0.1)."
            )
        self.min = float(min)
        self.max = float(max)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.min, self.max, shape).astype(np.float32)

    def __repr__(self) -> str:
        return f"Uniform(min={self.min}, max={self.max})"


def resolve_value(value: Any, what: str) -> Any:
    """Normalise a user value: a number, an array, or an :class:`Initializer`.

    Names are resolved through the registry (kind ``"initializers"``).  Arrays
    are checked for finiteness here; their shape is checked by
    :func:`materialise`, which knows the target shape.
    """
    if isinstance(value, str) or (
        isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
    ):
        return registry.create("initializers", value, expected=Initializer)
    if isinstance(value, Initializer):
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ConfigurationError(f"{what} must be a number, an array or an initializer; got "
                                 f"{value!r}. Pass a float.")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{what} must be a number, an array or an initializer; got {type(value).__name__}. "
            f"Pass a float, a numpy array or e.g. Normal(sd=0.1)."
        ) from exc
    if not np.all(np.isfinite(arr)):
        raise ConfigurationError(
            f"{what} must be finite; got an array with NaN or inf. Clean the values first."
        )
    return float(arr) if arr.ndim == 0 else arr


def check_shape(value: Any, shape: tuple[int, ...], what: str) -> None:
    """Raise :class:`ConfigurationError` if an array ``value`` does not fit ``shape``."""
    if isinstance(value, np.ndarray) and value.shape != shape:
        raise ConfigurationError(
            f"{what} must have shape {shape}; got {value.shape}. Pass an array of that shape, "
            f"a scalar or an initializer."
        )


def materialise(value: Any, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Return ``value`` (already resolved) as a float32 array of ``shape``.

    Parameters
    ----------
    value : float, numpy.ndarray or Initializer
        The output of :func:`resolve_value`.
    shape : tuple of int
        Target shape.
    rng : numpy.random.Generator
        Drawn from when ``value`` is an initializer.
    """
    if isinstance(value, Initializer):
        return np.ascontiguousarray(value.sample(shape, rng), dtype=np.float32)
    return np.array(np.broadcast_to(np.asarray(value, dtype=np.float32), shape), dtype=np.float32)


__all__ = ["Initializer", "Normal", "Uniform", "check_shape", "materialise", "resolve_value"]

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

from ._mlgenn_missing import module_getattr as _mlgenn_getattr
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


def _clipped_normal(p: dict[str, float], shape: tuple[int, ...],
                    rng: np.random.Generator) -> np.ndarray:
    # GeNN redraws until a value lies in [min, max]; so does this.
    out = rng.normal(p["mean"], p["sd"], shape)
    bad = (out < p["min"]) | (out > p["max"])
    while bad.any():
        out[bad] = rng.normal(p["mean"], p["sd"], int(bad.sum()))
        bad = (out < p["min"]) | (out > p["max"])
    return out


#: GeNN's built-in variable initialisation snippets: name -> (parameters, sampler).
_GENN_SNIPPETS: dict[str, tuple[tuple[str, ...], Any]] = {
    "Constant": (("constant",), lambda p, shape, rng: np.full(shape, p["constant"])),
    "Uniform": (("min", "max"), lambda p, shape, rng: rng.uniform(p["min"], p["max"], shape)),
    "Normal": (("mean", "sd"), lambda p, shape, rng: rng.normal(p["mean"], p["sd"], shape)),
    "NormalClipped": (("mean", "sd", "min", "max"), _clipped_normal),
    "Exponential": (("lambda",), lambda p, shape, rng: rng.exponential(1.0 / p["lambda"], shape)),
    "Gamma": (("a", "b"), lambda p, shape, rng: rng.gamma(p["a"], p["b"], shape)),
    "Binomial": (("n", "p"), lambda p, shape, rng: rng.binomial(int(p["n"]), p["p"], shape)),
}


class Wrapper(Initializer):
    """mlGeNN's ``Wrapper``: a GeNN initialisation snippet by name, with its parameters.

    spikehooks generates no GeNN code, so the snippet must be one of GeNN's
    built-in ones, drawn here with numpy from the compiler's generator:
    ``"Constant"`` (``constant``), ``"Uniform"`` (``min``, ``max``),
    ``"Normal"`` (``mean``, ``sd``), ``"NormalClipped"`` (``mean``, ``sd``,
    ``min``, ``max``; redrawn until inside), ``"Exponential"`` (``lambda``),
    ``"Gamma"`` (``a``, ``b``: shape and scale), ``"Binomial"`` (``n``, ``p``).

    Parameters
    ----------
    snippet : str
        The snippet's name.
    param_vals : dict of str to float
        Its parameters.
    egp_vals : dict
        Extra global parameters; none of these snippets has any (must be empty).
    """

    def __init__(self, snippet: Any, param_vals: dict[str, float] | None = None,
                 egp_vals: dict[str, Any] | None = None):
        known = _GENN_SNIPPETS.get(snippet) if isinstance(snippet, str) else None
        if known is None:
            raise ConfigurationError(
                f"Wrapper snippet must name one of GeNN's built-in snippets "
                f"{sorted(_GENN_SNIPPETS)}; got {snippet!r}. spikehooks generates no GeNN code: "
                f"write an Initializer subclass with sample(shape, rng) instead."
            )
        params = dict(param_vals or {})
        if set(params) != set(known[0]) or egp_vals:
            raise ConfigurationError(
                f"Wrapper param_vals of {snippet!r} must be exactly {list(known[0])} (and no "
                f"egp_vals); got {sorted(params)}{' and egp_vals' if egp_vals else ''}. Pass "
                f"e.g. Wrapper({snippet!r}, {{{', '.join(f'{k!r}: 1.0' for k in known[0])}}})."
            )
        if not all(np.isfinite(float(v)) for v in params.values()):
            raise ConfigurationError(
                f"Wrapper param_vals of {snippet!r} must be finite numbers; got {params}. "
                f"Fix the values."
            )
        self.snippet, self.param_vals = snippet, params
        self.egp_vals: dict[str, Any] = {}
        self._sampler = known[1]

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self._sampler(self.param_vals, shape, rng), dtype=np.float32)

    def __repr__(self) -> str:
        return f"Wrapper({self.snippet!r}, {self.param_vals})"


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


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = [
    "Initializer",
    "Normal",
    "Uniform",
    "Wrapper",
    "check_shape",
    "materialise",
    "resolve_value",
]

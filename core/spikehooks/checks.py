"""Argument checks shared by the core and the plugin distributions.

Each check returns the value converted (``float`` or ``int``) or raises
:class:`~spikehooks.errors.ConfigurationError` in the house shape
``"<where> <name> must be <expected>; got <value>. <fix>"``, so that a bad
argument fails in the constructor, before a long run starts.

Numbers are Python or NumPy ints and floats; ``bool`` is refused everywhere
(``True`` is an ``int`` to Python, but a flag passed for a number is a
mistake).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np

from .errors import ConfigurationError


def real(
    value: object,
    where: str,
    name: str,
    expected: str,
    fix: str,
    valid: Callable[[float], bool] = lambda v: True,
) -> float:
    """Return ``value`` as a float if it is a finite real number passing ``valid``.

    Raises
    ------
    ConfigurationError
        ``"<where> <name> must be <expected>; got <value>. <fix>"``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigurationError(f"{where} {name} must be {expected}; got {value!r}. {fix}")
    number = float(value)
    if not math.isfinite(number) or not valid(number):
        raise ConfigurationError(f"{where} {name} must be {expected}; got {value!r}. {fix}")
    return number


def integer(
    value: object,
    where: str,
    name: str,
    expected: str,
    fix: str,
    valid: Callable[[int], bool] = lambda v: True,
) -> int:
    """Return ``value`` as an int if it is an integer (not a bool) passing ``valid``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not valid(int(value)):
        raise ConfigurationError(f"{where} {name} must be {expected}; got {value!r}. {fix}")
    return int(value)


def positive_real(
    value: object, where: str, name: str, fix: str, *, allow_zero: bool = False
) -> float:
    """Return ``value`` as a float if it is finite and > 0 (>= 0 with ``allow_zero``)."""
    if allow_zero:
        return real(value, where, name, "a finite number >= 0", fix, lambda v: v >= 0)
    return real(value, where, name, "a finite number > 0", fix, lambda v: v > 0)


def int_at_least(value: object, where: str, name: str, fix: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum`` (default 1)."""
    return integer(value, where, name, f"an int >= {minimum}", fix, lambda v: v >= minimum)


def make_rng(seed: object, where: str) -> np.random.Generator:
    """Return ``numpy.random.default_rng(seed)``, with a clear error for a bad seed."""
    try:
        return np.random.default_rng(seed)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{where} seed must be a non-negative integer, a numpy Generator or None; "
            f"got {seed!r}. Pass e.g. seed=0."
        ) from exc


__all__ = ["integer", "make_rng", "int_at_least", "positive_real", "real"]

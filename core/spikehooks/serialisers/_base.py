"""The serialiser base class and how keys are normalised."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError


class Serialiser:
    """Base class of serialisers: store and fetch state trees by keys.

    Subclasses implement :meth:`save`, :meth:`load`, :meth:`list_keys` and
    :meth:`delete`.  ``keys`` is a tuple of strings, ints or paths (a single
    value is taken as a one-element tuple).
    """

    name = ""

    def save(self, keys: Any, state: Mapping[str, Any]) -> Path:
        """Store ``state`` (a dict with str keys) under ``keys``; return where it went."""
        raise NotImplementedError

    def load(self, keys: Any) -> dict[str, Any]:
        """Return the state stored under ``keys``, verified.

        Raises
        ------
        CheckpointError
            Nothing complete is stored there, or it fails verification.
        """
        raise NotImplementedError

    def list_keys(self, prefix: Any = ()) -> list[str]:
        """Return the names of the keys one level below ``prefix`` (sorted)."""
        raise NotImplementedError

    def delete(self, keys: Any) -> None:
        """Remove what is stored under ``keys`` (invalidating it first)."""
        raise NotImplementedError


def normalise_keys(keys: Any) -> tuple[str, ...]:
    if not isinstance(keys, (tuple, list)):
        keys = (keys,)
    parts = []
    for key in keys:
        part = os.fspath(key) if isinstance(key, os.PathLike) else str(key)
        if not part:
            raise ConfigurationError(
                f"serialiser keys must not hold empty strings; got {tuple(keys)!r}. "
                f"Use keys such as ('checkpoints', 5)."
            )
        parts.append(part)
    return tuple(parts)

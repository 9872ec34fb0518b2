"""Data-parallel e-prop checkpoints: every rank's carried batch rows in one global state.

A data-parallel rank ``r`` runs rows ``r * rows .. (r + 1) * rows - 1`` of
the global batch (``docs/eprop.md``).  At the end of every training epoch
the ranks' carried states (the backend's running state and e-prop's traces)
are gathered to rank 0, the rank that writes checkpoints, and joined in
global row order, so a checkpoint holds the state one process of the same
global batch would hold; a resume gives every rank back its own rows.

The carried state is a nested dict (``{"backend": {"pop:<name>": {...}},
"traces": {...}}``) of arrays with the batch row on axis 0, except a delay
ring's (``"ring"``, ``(delay slots, rows, n)``), whose row axis is 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ConfigurationError


def _axis(key: str) -> int:
    """The batch-row axis of the array stored under ``key``."""
    return 1 if key == "ring" else 0


def _walk(tree: Any, leaf: Callable[[str, Any], Any], key: str = "") -> Any:
    """Apply ``leaf(key, array)`` to every array of a nested dict; same nesting back."""
    if isinstance(tree, dict):
        return {k: _walk(v, leaf, k) for k, v in tree.items()}
    return leaf(key, tree)


def join(parts: list[Any], key: str = "") -> Any:
    """Concatenate the ranks' carried states (rank order) along each array's row axis.

    Parameters
    ----------
    parts : list of dict
        One carried state per rank, all of the same structure.

    Returns
    -------
    dict
        The global state (same nesting); its arrays are read-only, a
        checkpoint's copy that nothing may change in place.
    """
    first = parts[0]
    if isinstance(first, dict):
        return {k: join([p[k] for p in parts], k) for k in first}
    joined = np.concatenate([np.asarray(p) for p in parts], axis=_axis(key))
    joined.flags.writeable = False
    return joined


def take_rows(state: Any, start: int, stop: int) -> Any:
    """Rows ``start .. stop - 1`` of every array of a (global) carried state."""
    def leaf(key: str, array: Any) -> np.ndarray:
        index = [slice(None)] * np.ndim(array)
        index[_axis(key)] = slice(start, stop)
        return np.asarray(array)[tuple(index)]
    return _walk(state, leaf)


def check_global_rows(state: Any, rows: int, owner: str) -> None:
    """Refuse a carried state whose arrays do not hold ``rows`` (the global batch) rows.

    Raises
    ------
    ConfigurationError
        Naming the first entry with another row count.
    """
    found: list[tuple[str, int]] = []

    def leaf(key: str, array: Any) -> None:
        shape = np.shape(array)
        got = shape[_axis(key)] if len(shape) > _axis(key) else 0
        if got != rows:
            found.append((key, got))
    _walk(state, leaf)
    if found:
        key, got = found[0]
        raise ConfigurationError(
            f"{owner} must hold the global batch's {rows} rows (batch_size) in every entry; "
            f"got {got} rows in {key!r}. Load state saved with the same global batch size "
            f"(by one process or any number of ranks)."
        )


__all__ = ["check_global_rows", "join", "take_rows"]

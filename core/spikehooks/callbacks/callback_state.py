"""Callback identity and state: stable names and the ``state_dict`` of a run's callbacks.

A checkpoint stores the state of every callback that offers
``state_dict()``/``load_state_dict()`` and must find the same callback again
in a resumed run.  The names are stable across runs built from the same
callback list (like Lightning's ``state_key``): ``"Class[key]"`` for a
callback with a key, else ``"Class#n"`` counting the keyless callbacks of
that class in list order.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterable
from typing import Any

from ..errors import CallbackError


def callback_ids(callbacks: Iterable[Any]) -> dict[str, Any]:
    """Name every callback stably: ``"Class[key]"`` when it has a key, else ``"Class#n"``.

    Returns
    -------
    dict
        Name -> callback, in list order.
    """
    ids: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for callback in callbacks:
        name = type(callback).__qualname__
        key = getattr(callback, "key", None)
        if key is not None:
            ids[f"{name}[{key!r}]"] = callback
        else:
            ids[f"{name}#{counts.get(name, 0)}"] = callback
            counts[name] = counts.get(name, 0) + 1
    return ids


def is_stateful(callback: Any) -> bool:
    """Return True when ``callback`` offers ``state_dict()`` and ``load_state_dict()``."""
    return callable(getattr(callback, "state_dict", None)) and callable(
        getattr(callback, "load_state_dict", None)
    )


def state_dict(callbacks: Iterable[Any]) -> dict[str, Any]:
    """Return ``{name: callback.state_dict()}`` for every stateful callback."""
    return {
        name: callback.state_dict()
        for name, callback in callback_ids(callbacks).items()
        if is_stateful(callback)
    }


def load_state_dict(callbacks: Iterable[Any], state: dict[str, Any], *,
                    source: str = "The state") -> None:
    """Give every stateful callback its saved state, by name, all or nothing.

    A stateful callback without saved state starts afresh, and saved state
    of a callback not in ``callbacks`` is ignored; each case warns, naming
    the callbacks.  A callback that refuses its state (raises) leaves every
    callback as it was: those already loaded get their previous state back.

    Parameters
    ----------
    callbacks : iterable
        The callbacks of the run, in list order.
    state : dict
        What :func:`state_dict` returned.
    source : str
        Where the state comes from, for the warnings (e.g. ``"Checkpoint"``).

    Raises
    ------
    CallbackError
        A callback refused its state (``hook`` is ``"load_state_dict"``, the
        callback's exception the ``__cause__``); no callback was changed.
    """
    saved = dict(state or {})
    stateful = {name: cb for name, cb in callback_ids(callbacks).items() if is_stateful(cb)}
    before = {name: copy.deepcopy(cb.state_dict()) for name, cb in stateful.items()
              if name in saved}
    loaded: list[str] = []
    for name, callback in stateful.items():
        if name not in saved:
            warnings.warn(
                f"{source} has no state for callback {name}; it starts afresh. Resume "
                f"with the same callback list to restore every callback.",
                UserWarning,
                stacklevel=3,
            )
            continue
        try:
            callback.load_state_dict(saved.pop(name))
        except Exception as exc:
            for done in loaded:
                stateful[done].load_state_dict(before[done])
            with contextlib.suppress(Exception):  # undo what the refusing one half-loaded
                callback.load_state_dict(before[name])
            raise CallbackError(
                f"callback {name} refused its saved state ({type(exc).__name__}: {exc})",
                callback=callback, hook="load_state_dict", cb_data={},
            ) from exc
        loaded.append(name)
    if saved:
        warnings.warn(
            f"{source} holds state for callbacks not in this run: {sorted(saved)}; ignored.",
            UserWarning,
            stacklevel=3,
        )


__all__ = ["callback_ids", "is_stateful", "load_state_dict", "state_dict"]

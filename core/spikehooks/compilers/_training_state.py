"""Checking a training state before any of it is loaded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError


def check_training_state(state: Mapping[str, Any], current: Mapping[str, np.ndarray],
                         optimisers: Sequence[Any], rng: np.random.Generator,
                         extra: Mapping[str, np.ndarray] | None = None) -> None:
    """Refuse a state of ``CompiledTrainingNetwork.state_dict()`` that would not fit.

    Parameters
    ----------
    state : mapping
        ``{"learnable", "optimisers", "rng", "epoch"}`` as ``state_dict()`` returns it.
    current : mapping of str to numpy.ndarray
        The network's weights now (``backend.get_learnable_state()``).
    optimisers : sequence of Optimiser
        The network's optimisers.
    rng : numpy.random.Generator
        The network's shuffling generator.
    extra : mapping of str to numpy.ndarray, optional
        Other learned arrays the optimisers update (learned delays), for the
        shapes of their moments.

    Raises
    ------
    ConfigurationError
        Naming what does not fit; nothing is changed either way.
    """
    missing = {"learnable", "optimisers", "rng", "epoch"} - set(state)
    if missing:
        raise ConfigurationError(
            f"training state must have keys learnable, optimisers, rng and epoch; missing "
            f"{sorted(missing)}. Pass what state_dict() returned."
        )
    shapes = {key: tuple(array.shape) for key, array in current.items()}
    given = {key: tuple(np.shape(array)) for key, array in dict(state["learnable"]).items()}
    if given != shapes:
        raise ConfigurationError(
            f"training state learnable must hold this network's weights {shapes}; got "
            f"{given}. Load state saved from a network of the same connections and sizes."
        )
    if len(state["optimisers"]) != len(optimisers):
        raise ConfigurationError(
            f"training state optimisers must hold {len(optimisers)} state(s); got "
            f"{len(state['optimisers'])}. Load state saved from the same compiler."
        )
    for opt, opt_state in zip(optimisers, state["optimisers"], strict=True):
        opt.check_state_dict(opt_state, {**shapes, **{key: tuple(array.shape)
                                                      for key, array in (extra or {}).items()}})
    saved = state["rng"]
    kind = rng.bit_generator.state["bit_generator"]
    if not isinstance(saved, Mapping) or saved.get("bit_generator") != kind:
        got = saved.get("bit_generator") if isinstance(saved, Mapping) else type(saved).__name__
        raise ConfigurationError(
            f"training state rng must be a {kind} state; got {got!r}. Pass what "
            f"state_dict() returned."
        )
    epoch = state["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ConfigurationError(
            f"training state epoch must be an int >= 0; got {epoch!r}. Pass what "
            f"state_dict() returned."
        )

"""Finding a compiled network's optimisers, checking a parameter name, setting it."""

from __future__ import annotations

from typing import Any

from spikehooks.errors import ConfigurationError


def optimisers_with(compiled_network: Any, param: str, owner: str) -> list[Any]:
    """Return the optimisers of ``compiled_network``, each checked to have ``param``.

    Raises
    ------
    ConfigurationError
        The network has no optimiser (not a training run), or an optimiser
        lacks ``param``; the message lists the optimiser's parameters.
    """
    # mlGeNN's compiled networks hold (optimiser, updates) pairs; accept bare ones too.
    optimisers = [entry[0] if isinstance(entry, tuple) else entry
                  for entry in getattr(compiled_network, "optimisers", None) or ()]
    if not optimisers:
        raise ConfigurationError(
            f"{owner} needs a compiled network with optimisers; got "
            f"{type(compiled_network).__name__}. Use it in the callbacks of train() on a "
            f"network compiled for training (e.g. EventPropCompiler)."
        )
    for optimiser in optimisers:
        names = tuple(getattr(optimiser, "param_names", ()))
        if param not in names:
            raise ConfigurationError(
                f"{owner} param must be a parameter of {type(optimiser).__name__}, one of "
                f"{list(names)}; got {param!r}. Pick one of those names."
            )
    return optimisers


def set_param(optimiser: Any, param: str, value: Any, owner: str, when: str) -> None:
    """Set ``optimiser.<param> = value``; a value the optimiser refuses names the schedule.

    The optimiser checks every assignment (a NaN or negative learning rate is
    refused); this adds who set it and when, so that the error points at the
    schedule rather than at the optimiser.

    Parameters
    ----------
    when : str
        E.g. ``"epoch 3"`` or ``"epoch 3, batch 7"``.
    """
    try:
        setattr(optimiser, param, value)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{owner} set {type(optimiser).__name__} {param} to {value!r} at {when}, which "
            f"is refused: {exc} Fix the schedule's function or parameters so that it gives "
            f"valid values."
        ) from exc

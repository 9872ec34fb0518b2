"""What a checkpoint folder holds, and loading one checkpoint all-or-nothing.

:func:`survey` sorts the epoch folders under a ``Checkpoint``'s path into
complete checkpoints (with the run that wrote each), never-completed saves
(no manifest), damaged ones and ones of a newer format.  :func:`apply`
checks a loaded checkpoint against the network, its optimiser and the
callbacks before it changes any of them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikehooks.errors import CallbackError, ConfigurationError
from spikehooks.serialisers import (
    MANIFEST_NAME,
    CheckpointError,
    CheckpointFormatError,
    Serialiser,
)


@dataclass
class Entry:
    """One epoch folder: ``status`` is "complete", "incomplete", "damaged" or "newer"."""

    epoch: int
    status: str
    run: str | None = None
    error: CheckpointError | None = None


def run_of(tree: Any) -> str | None:
    """The run identity stored in a checkpoint's state (None for older checkpoints)."""
    run = tree.get("run") if isinstance(tree, dict) else None
    return run.get("id") if isinstance(run, dict) else None


def _manifest_folder(serialiser: Serialiser, keys: tuple) -> Path | None:
    folder = getattr(serialiser, "folder", None)
    return folder(keys) if callable(folder) else None


def survey(serialiser: Serialiser, path: str) -> list[Entry]:
    """Classify every epoch folder under ``path``, ascending by epoch."""
    entries = []
    for name in serialiser.list_keys((path,)):
        if not name.isdigit():
            continue
        epoch, keys = int(name), (path, int(name))
        folder = _manifest_folder(serialiser, keys)
        if folder is not None and not (folder / MANIFEST_NAME).exists():
            entries.append(Entry(epoch, "incomplete"))
            continue
        try:
            read = getattr(serialiser, "read_manifest", None)
            tree = read(keys)["tree"] if callable(read) else serialiser.load(keys)
        except CheckpointFormatError as exc:
            entries.append(Entry(epoch, "newer", error=exc))
            continue
        except (CheckpointError, KeyError, TypeError) as exc:
            error = exc if isinstance(exc, CheckpointError) else CheckpointError(
                f"checkpoint {folder} is malformed ({exc}).", path=Path(str(folder)))
            entries.append(Entry(epoch, "damaged", error=error))
            continue
        entries.append(Entry(epoch, "complete", run=run_of(tree)))
    return sorted(entries, key=lambda e: e.epoch)


def refuse_newer(entries: list[Entry]) -> None:
    """Raise the error of the first checkpoint written in a newer format, if any."""
    for entry in entries:
        if entry.status == "newer" and entry.error is not None:
            raise entry.error


def warn_incomplete(entries: list[Entry], serialiser: Serialiser, path: str) -> None:
    for entry in entries:
        if entry.status == "incomplete":
            folder = _manifest_folder(serialiser, (path, entry.epoch))
            warnings.warn(
                f"Checkpoint ignores {folder}: its {MANIFEST_NAME} does not exist, so that "
                f"save never completed (the job was killed inside it); it counts as no "
                f"checkpoint.",
                UserWarning,
                stacklevel=4,
            )


def _check_learnable(backend: Any, learnable: dict[str, Any]) -> None:
    current = backend.get_learnable_state()
    shapes = {k: tuple(np.shape(v)) for k, v in current.items()}
    given = {k: tuple(np.shape(v)) for k, v in learnable.items()}
    if given != shapes:
        raise ConfigurationError(
            f"checkpoint learnable state must hold this network's weights {shapes}; got "
            f"{given}. Resume from a checkpoint of a network of the same connections and sizes."
        )


def apply(compiled_network: Any, state: dict[str, Any],
          load_callbacks: Callable[[dict[str, Any]], None], where: str) -> int:
    """Load ``state`` into the network, its optimisers and ``callbacks``, or change nothing.

    Parameters
    ----------
    compiled_network : CompiledNetwork
        The network being trained.
    state : dict
        A verified checkpoint (as the serialiser loaded it).
    load_callbacks : callable
        Gives the run's callbacks their saved state by name, all or nothing
        (the run's ``load_callback_state_dict``); raises ``CallbackError``
        naming a callback that refuses.
    where : str
        Names the checkpoint in messages.

    Returns
    -------
    int
        The first epoch still to train.

    Raises
    ------
    CheckpointError
        The checkpoint does not fit (weights of other sizes, another optimiser,
        a callback refusing its state); nothing was loaded.
    """
    try:
        learnable, training = state["learnable"], state.get("training")
        epoch = int(state["checkpoint"]["epoch"])
        full = None
        if training is not None and callable(getattr(compiled_network, "load_state_dict", None)):
            full = {**training, "learnable": learnable}
        check = getattr(compiled_network, "check_state_dict", None)
        if full is not None and callable(check):
            check(full)
        elif full is None:
            _check_learnable(compiled_network.backend, learnable)
    except (ConfigurationError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"Checkpoint cannot resume from {where}: {exc} Nothing was loaded.",
            path=Path(where),
        ) from exc
    # Callbacks first (all or nothing); the network last, as it was checked above.
    try:
        load_callbacks(dict(state.get("callbacks") or {}))
    except CallbackError as exc:
        raise CheckpointError(
            f"Checkpoint cannot resume from {where}: {exc}. Nothing was loaded; resume with "
            f"the callbacks of the run that saved it.",
            path=Path(where),
        ) from exc.__cause__
    if full is not None:
        compiled_network.load_state_dict(full)
    else:
        compiled_network.backend.set_learnable_state(learnable)
    # Saved at the end of its epoch: training continues with the next one.
    return epoch + 1

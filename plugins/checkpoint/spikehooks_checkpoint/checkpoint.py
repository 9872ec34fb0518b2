"""The :class:`Checkpoint` callback: atomic, verified, resumable checkpoints."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from spikehooks import Callback, hookimpl, registry
from spikehooks.callbacks import callback_state
from spikehooks.callbacks.callback_state import callback_ids
from spikehooks.callbacks.monitor import EpochEndWatcher, Monitor, check_validation_available
from spikehooks.checks import integer
from spikehooks.errors import ConfigurationError, NonFiniteWarning
from spikehooks.folders import FolderClaim, read_owner
from spikehooks.serialisers import CheckpointError, Serialiser

from . import _resume


class Checkpoint(EpochEndWatcher, Callback):
    """Save learnable and training state every ``epoch_interval`` epochs, keyed by epoch.

    At the end of epoch ``e`` with ``e % epoch_interval == 0`` (mlGeNN's
    rule: epoch 0 included), writes the checkpoint ``(path, e)``, with the
    numpy serialiser the folder ``path/e/``.  Each holds

    - ``learnable``: the weights, which ``network.load((path, e))`` reads;
    - ``training``: the rest of ``compiled_network.state_dict()``
      (optimiser state, RNG state, the epoch to resume at);
    - ``callbacks``: the ``state_dict()`` of every callback of the run that
      has ``state_dict()``/``load_state_dict()``, named by class and key
      (``"StepDecay#0"``, ``"SpikeRecorder['spikes']"``).

    It saves once the epoch is complete (at ``on_validation_end`` when the
    run validates, else at ``on_epoch_end``) and after every other
    callback's hook, so the states saved are those of the end of the epoch.
    ``train(..., resume_from=...)`` calls :meth:`restore`.

    In a data-parallel run only rank 0 writes (the ranks' states are
    identical; the others wait for it at the end of the epoch), and on
    resume rank 0 reads the checkpoint and the run gives its state to
    every rank, so the callback may be given to rank 0 alone.

    Parameters
    ----------
    serialiser : Serialiser, str or (str, dict)
        Default ``"numpy"``.
    epoch_interval : int
        Save after epochs ``0, k, 2k, ...`` (>= 1).
    path : str or os.PathLike, optional
        First key of every checkpoint (the folder for the numpy serialiser).
        Default: ``"checkpoints"`` when ``serialiser`` is given by name;
        ``"."`` (the serialiser's own folder) when it is a serialiser object,
        so that, as in mlGeNN, ``Checkpoint(Numpy("ckpt"))`` writes the
        checkpoint of epoch ``e`` to ``ckpt/e/``, which
        ``network.load((e,), serialiser)`` reads.
    monitor : str, optional
        A metric, ``[val_][<population>/]<metric>``: ``"accuracy"``,
        ``"val_accuracy"``, ``"output/accuracy"``.  Its value is stored
        with each checkpoint; required by ``save_best_only``.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better (``"auto"``: higher for accuracies).
    save_best_only : bool
        Save only when ``monitor`` improved on every earlier checkpoint.
    keep_last : int, optional
        Keep only the ``keep_last`` newest checkpoints of this run, deleting
        older ones of this run (never another run's).
    overwrite : bool
        Start a new run in a folder that holds another run's checkpoints or
        other files; the other run's checkpoints are deleted once this run
        saved its first (other files stay).  Without it such a folder is
        refused before training starts, unless ``train(...,
        resume_from=...)`` continues the run that owns it.

    Notes
    -----
    The folder belongs to one run at a time (``spikehooks.folders``): its
    identity is in ``path/.spikehooks-owner.json`` and in every checkpoint,
    and ``path/.spikehooks.lock`` is locked while a run writes there, so a
    second ``Checkpoint`` on the same folder, in this process or another,
    is refused in ``set_params``.
    """

    # Acts on the training loop (epochs, the optimiser): useless anywhere else.
    run_modes = ("train",)

    def __init__(self, serialiser: Any = "numpy", epoch_interval: int = 1,
                 path: str | os.PathLike[str] | None = None, monitor: str | None = None,
                 mode: str = "auto", save_best_only: bool = False, keep_last: int | None = None,
                 overwrite: bool = False):
        for name, value, allow_none in (("epoch_interval", epoch_interval, False),
                                        ("keep_last", keep_last, True)):
            if value is None and allow_none:
                continue
            integer(value, "Checkpoint", name, f"an int >= 1{' or None' * allow_none}",
                    f"Pass e.g. {name}=1"
                    f"{' (save after every epoch)' if name == 'epoch_interval' else ''}"
                    f"{', or None to keep every checkpoint' if allow_none else ''}.",
                    lambda v: v >= 1)
        if save_best_only and monitor is None:
            raise ConfigurationError(
                "Checkpoint monitor must name a metric when save_best_only=True; got None. "
                "Pass e.g. monitor='val_accuracy'."
            )
        if isinstance(serialiser, (os.PathLike, bytes)):
            raise ConfigurationError(
                f"Checkpoint serialiser must be a Serialiser or a registered name such as "
                f"'numpy'; got the path {os.fspath(serialiser)!r}. The folder is the path "
                f"argument: Checkpoint(path={os.fspath(serialiser)!r})."
            )
        if not isinstance(overwrite, bool):
            raise ConfigurationError(
                f"Checkpoint overwrite must be True or False; got {overwrite!r}. Pass "
                f"overwrite=True to start a new run in a folder holding another run's files."
            )
        self.serialiser: Serialiser = registry.create("serialisers", serialiser,
                                                      expected=Serialiser)
        self.epoch_interval = int(epoch_interval)
        # mlGeNN's Checkpoint(Numpy(folder)) writes the checkpoint of epoch e into the
        # serialiser's own folder, where network.load((e,), serialiser) finds it: the
        # first key "." names that folder. A serialiser given by name gets "checkpoints".
        if path is None:
            path = "." if isinstance(serialiser, Serialiser) else "checkpoints"
        self.path = os.fspath(path)
        self.monitor = None if monitor is None else Monitor(monitor, mode, 0.0, "Checkpoint")
        self.save_best_only = bool(save_best_only)
        self.keep_last = None if keep_last is None else int(keep_last)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.overwrite = overwrite
        self._compiled_network: Any = None
        self._run: Any = None
        self._rank = 0
        self._claim = FolderClaim(
            self._folder(), kind="checkpoints", writer=f"Checkpoint(path={self.path!r})",
            fixes="Pass resume_from='latest' to continue that run, overwrite=True to start a "
                  "new run there (its checkpoints are deleted once the new run saved one), or "
                  "another path=.",
        )
        self._replaced: str | None = None

    def _folder(self) -> Path:
        folder = getattr(self.serialiser, "folder", None)
        return Path(folder((self.path,))) if callable(folder) else Path(self.path)

    @property
    def run_id(self) -> str | None:
        """The identity of the run this callback writes (None before its first run)."""
        return self._claim.run_id

    def set_params(self, compiled_network: Any = None, run: Any = None,
                   metrics: Any = None, validation: bool | None = None,
                   resume_from: Any = None, rank: int = 0, **kwargs: Any) -> None:
        """Check the monitor, then claim the folder (refusing a foreign or busy one).

        In a data-parallel run only rank 0 writes, so only rank 0 claims the folder.
        """
        if self.monitor is not None:
            if metrics is not None:
                self.monitor.find(metrics)
            check_validation_available(self.monitor, validation)
        # A checkpoint of a newer format is never overwritten or deleted: refuse the run.
        self._rank = rank
        if rank == 0:
            _resume.refuse_newer(_resume.survey(self.serialiser, self.path))
            self._claim.acquire(overwrite=self.overwrite, resume=resume_from is not None)
            self._replaced = self._claim.replaced_run if self.overwrite else None
        self._compiled_network = compiled_network
        self._run = run
        self.watch_epoch_end(bool(validation))

    # Save after every other callback has finished the epoch, so their state is final.
    @hookimpl(trylast=True)
    def on_epoch_end(self, epoch: int, metrics: Any, run: Any) -> None:
        """Save at the end of the epoch, unless the run validates (then after validation)."""
        super().on_epoch_end(epoch, metrics, run)

    @hookimpl(trylast=True)
    def on_validation_end(self, epoch: int, metrics: Any) -> None:
        """Save the epoch once its validation has finished."""
        super().on_validation_end(epoch, metrics)

    # --------------------------------------------------------------- saving
    def epoch_complete(self, epoch: int, metrics: Any, validation_metrics: Any) -> None:
        """Save the finished epoch (after its validation, when the run validates)."""
        if epoch % self.epoch_interval or self._rank != 0:
            return
        value = None
        if self.monitor is not None:
            value = self.monitor.value(metrics, validation_metrics)
            if self.monitor.improved(value, self.best):
                self.best, self.best_epoch = value, epoch
            elif self.save_best_only:
                return
        self.save(epoch, value)

    def save(self, epoch: int, value: float | None = None) -> Any:
        """Write the checkpoint of ``epoch`` now, then prune to ``keep_last``.

        Weights holding NaN or inf are never saved (nor older checkpoints
        pruned for them): a :class:`~spikehooks.errors.NonFiniteWarning` names
        the epoch and the array, and the last good checkpoint stays the newest.

        Returns
        -------
        object
            What the serialiser returned (the folder, for numpy), or None when
            the weights were not finite.
        """
        network = self._compiled_network
        training = None
        if callable(getattr(network, "state_dict", None)):
            training = dict(network.state_dict())
            learnable = training.pop("learnable")
        else:
            learnable = network.backend.get_learnable_state()
        bad = [name for name, array in learnable.items()
               if not np.isfinite(np.asarray(array, dtype=np.float64)).all()]
        if bad:
            warnings.warn(
                f"Checkpoint did not save epoch {epoch}: {', '.join(bad)} hold NaN or inf. "
                f"The newest checkpoint in {self.path!r} is the last good state.",
                NonFiniteWarning, stacklevel=2,
            )
            return None
        callbacks = self._callbacks_state()
        state = {
            "learnable": learnable,
            "training": training,
            "callbacks": callbacks,
            "checkpoint": {
                "epoch": epoch,
                "monitor": None if self.monitor is None else self.monitor.name,
                "value": value,
            },
            "run": {"id": self._claim.run_id},
        }
        if self._claim.held:
            self._claim.mark()
        where = self.serialiser.save((self.path, epoch), state)
        entries = _resume.survey(self.serialiser, self.path)
        if self._replaced is not None:
            # overwrite=True: the replaced run's checkpoints go once this run has one.
            for entry in entries:
                if entry.status == "complete" and entry.run != self._claim.run_id:
                    self.serialiser.delete((self.path, entry.epoch))
            self._replaced = None
        if self.keep_last is not None:
            for old in self.epochs()[: -self.keep_last]:
                if old != epoch:
                    self.serialiser.delete((self.path, old))
        return where

    def _owning_run(self) -> str | None:
        if self._claim.run_id is not None:
            return self._claim.run_id
        owner = read_owner(self._folder())
        return None if owner is None else owner.get("run_id")

    def epochs(self) -> list[int]:
        """Return the epochs with a complete checkpoint of this run under ``path``, ascending.

        This run is the one this callback writes, or before its first run the
        one owning the folder.  Checkpoints of other runs, never-completed
        saves (no manifest) and damaged ones are left out.
        """
        run = self._owning_run()
        return [e.epoch for e in _resume.survey(self.serialiser, self.path)
                if e.status == "complete" and e.run in (run, None)]

    def state_dict(self) -> dict[str, Any]:
        """Return the best monitored value and its epoch."""
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    # ------------------------------------------------------------ restoring
    def restore(self, compiled_network: Any, resume_from: Any = "latest",
                start_epoch: int = 0) -> int:
        """Load a checkpoint into the run, all or nothing; return the epoch to continue from.

        Called by ``train(..., resume_from=...)`` after ``set_params``.  The
        checkpoint is verified, then checked against the network (weight
        names and shapes), its optimiser (class, moment shapes) and the
        callbacks (each must accept its state) before anything is loaded: a
        refused checkpoint leaves weights, optimiser and callbacks as they were.

        Parameters
        ----------
        compiled_network : CompiledNetwork
            The loaded network being trained.
        resume_from : "latest", int or path
            ``"latest"``: the newest complete checkpoint of the run owning
            ``path`` that verifies (a damaged newer one is skipped with a
            warning naming its file; a save that never completed, with no
            manifest, counts as no checkpoint, with a warning naming it; no
            checkpoint at all: start at ``start_epoch``).  An int: the checkpoint of
            that epoch.  Anything else: the keys (for numpy, the folder) of
            one checkpoint.

        Returns
        -------
        int
            The first epoch still to train.

        Raises
        ------
        CheckpointFormatError
            ``"latest"`` and a checkpoint under ``path`` was written in a newer
            format: never skipped, never overwritten.
        CheckpointError
            The asked-for checkpoint (or, for "latest", every one) fails
            verification or does not fit the run; nothing was loaded.
        """
        self._compiled_network = compiled_network
        if isinstance(resume_from, str) and resume_from == "latest":
            entries = _resume.survey(self.serialiser, self.path)
            _resume.refuse_newer(entries)
            _resume.warn_incomplete(entries, self.serialiser, self.path)
            run = self._owning_run()
            candidates = [e for e in entries if e.status == "damaged"
                          or (e.status == "complete" and e.run in (run, None))]
            if not candidates:
                return int(start_epoch)
            epoch, state = self._load_latest(candidates)
            where = str(self._folder() / str(epoch))
        elif isinstance(resume_from, (int, np.integer)) and not isinstance(resume_from, bool):
            state = self.serialiser.load((self.path, int(resume_from)))
            where = str(self._folder() / str(int(resume_from)))
        else:
            state = self.serialiser.load((resume_from,))
            where = os.fspath(resume_from)
        return _resume.apply(compiled_network, state, self._load_callbacks_state, where)

    def _load_latest(self, candidates: list[_resume.Entry]) -> tuple[int, dict[str, Any]]:
        refused = []
        for entry in reversed(candidates):
            try:
                return entry.epoch, self.serialiser.load((self.path, entry.epoch))
            except CheckpointError as exc:
                refused.append(exc)
                warnings.warn(
                    f"Checkpoint skips the checkpoint of epoch {entry.epoch}: {exc} Falling "
                    f"back to the previous one.",
                    UserWarning,
                    stacklevel=3,
                )
        raise CheckpointError(
            f"Checkpoint found no valid checkpoint under {self.path!r}: all {len(refused)} "
            f"were refused (the first: {refused[0]}). Start without resume_from or fix them.",
            path=refused[0].path,
        )

    def _callbacks_state(self) -> dict[str, Any]:
        """The state of the run's callbacks, named and collected by the core."""
        if self._run is not None:
            return self._run.callback_state_dict()
        return callback_state.state_dict([self])

    def _load_callbacks_state(self, saved: dict[str, Any]) -> None:
        if self._run is not None:
            self._run.load_callback_state_dict(saved, source="Checkpoint")
        else:
            # Restored outside a run (no set_params yet): only this callback's own state.
            callback_state.load_state_dict([self], saved, source="Checkpoint")

    def __repr__(self) -> str:
        return (f"Checkpoint(serialiser={self.serialiser!r}, epoch_interval="
                f"{self.epoch_interval!r}, path={self.path!r}, overwrite={self.overwrite!r})")


__all__ = ["Checkpoint", "callback_ids"]

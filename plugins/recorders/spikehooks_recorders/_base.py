"""What every recorder shares: key, example filter, gating, memory budget, streaming."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from spikehooks.callbacks.callback import Callback
from spikehooks.errors import ConfigurationError
from spikehooks.folders import FolderClaim

from ._filters import ExampleFilter
from ._gather import batch_keys, gather_sorted
from ._gating import Gate, env_budget, format_bytes, parse_bytes
from ._reading import open_recording


def pop_name(pop: Any) -> str:
    """The population's (or connection's) name, for messages."""
    name = getattr(pop, "name", None)
    return str(name) if name is not None else repr(pop)


def pop_shape(pop: Any) -> tuple[int, ...] | None:
    """The population's shape as a tuple (None when it does not say)."""
    shape = getattr(pop, "shape", None)
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


class Estimate:
    """A recorder's memory estimate: bytes and how they were computed."""

    def __init__(self, nbytes: int, text: str, exact: bool):
        self.nbytes = int(nbytes)
        self.text = text
        self.exact = exact


class RecordingBudget:
    """The memory estimates of one run's recorders, checked against ``SPIKEHOOKS_RECORDING_BUDGET``.

    Shared through ``run.share(RecordingBudget.KEY, RecordingBudget)``: each
    recorder adds its estimate in ``set_params``; the dispatcher calls
    :meth:`before_run` once all have, before anything is simulated.
    """

    KEY = "spikehooks_recorders:budget"

    def __init__(self) -> None:
        self.parts: list[tuple[str, int]] = []

    def add(self, owner: str, nbytes: int | None) -> None:
        """Count a recorder's estimate (None, unknown: counted as 0)."""
        self.parts.append((owner, 0 if nbytes is None else int(nbytes)))

    def before_run(self) -> None:
        """Refuse the run when the recorders together exceed the budget."""
        budget = env_budget()
        if budget is None:
            return
        total = sum(nbytes for _, nbytes in self.parts)
        if total > budget:
            parts = "; ".join(f"{owner}: {format_bytes(nbytes)}" for owner, nbytes in self.parts)
            raise ConfigurationError(
                f"Recorders of this run must fit SPIKEHOOKS_RECORDING_BUDGET; got "
                f"{format_bytes(budget)} but they would hold about {format_bytes(total)} "
                f"in memory ({parts}). To fix: narrow the largest one with "
                f"example_filter=/neuron_filter=, stream it to disk with to='some/folder', "
                f"or raise the budget. Nothing was simulated."
            )


class RecorderBase(Callback):
    """Shared machinery of :class:`SpikeRecorder`, :class:`VarRecorder` and
    :class:`ConnVarRecorder` (not used directly)."""

    _fix_hint = "record fewer examples (example_filter=...)"

    def __init__(self, key: Any, example_filter: Any, epochs: Any, phase: Any,
                 max_bytes: Any, to: str | os.PathLike | None, overwrite: bool = False,
                 gather: bool = False):
        self.key = key
        self._owner = f"{type(self).__name__}(key={key!r})"
        self._examples = ExampleFilter(example_filter, self._owner)
        self._gate = Gate(epochs, phase, self._owner)
        self.max_bytes = parse_bytes(max_bytes, f"{self._owner} max_bytes")
        self.to = None if to is None else os.fspath(to)
        if self.to is not None and os.path.exists(self.to) and not os.path.isdir(self.to):
            raise ConfigurationError(
                f"{self._owner} to must name a folder; got the file {self.to!r}. Pass a folder "
                f"path (created if missing), e.g. to='recordings/spikes'."
            )
        if not isinstance(overwrite, bool):
            raise ConfigurationError(
                f"{self._owner} overwrite must be True or False; got {overwrite!r}. Pass "
                f"overwrite=True to replace what the to= folder holds."
            )
        self.overwrite = overwrite
        # The to= folder belongs to one run and one writer (spikehooks.folders).
        self._claim = None if self.to is None else FolderClaim(
            self.to, kind="recording", writer=self._owner,
            fixes="Pass overwrite=True to replace it, or another to= folder.",
        )
        #: Bytes the recorder will hold in memory by the end of the run
        #: (set in ``set_params``; None before, or when the run's size is unknown).
        self.estimated_bytes: int | None = None
        self._backend: Any = None
        self._run_active = False
        self._active = False
        self._local = np.empty(0, dtype=np.int64)
        self._epoch: int | None = None
        self._writer: Any = None
        self._data_dict: dict | None = None
        self._pending: tuple[Any, str | None] | None = None
        if not isinstance(gather, bool):
            raise ConfigurationError(
                f"{self._owner} gather must be True or False; got {gather!r}. Pass "
                f"gather=True to collect every rank's examples on rank 0."
            )
        if gather and self.to is not None:
            raise ConfigurationError(
                f"{self._owner} gather=True must record in memory; got to={self.to!r}. Stream "
                f"each rank to its own folder instead, e.g. to=f'recordings/rank{{rank}}', "
                f"and leave gather=False."
            )
        self.gather = gather
        self._comm: Any = None
        self._mode: str | None = None
        self._seq = 0
        self._gathered_seq = -1
        self._keys: list[tuple[int, int, int]] = []
        self._gathered: Any = None
        self._own_indices: list[int] = []
        self._gathered_indices: list[int] | None = None

    @property
    def example_indices(self) -> list[int]:
        """Data-set index of every recorded entry.

        On rank 0 of a data-parallel run with ``gather=True``: every rank's,
        in the gathered order, once the run (or a validation pass of
        ``train``) ended.
        """
        if self._gathered_indices is not None:
            return self._gathered_indices
        return self._own_indices

    @example_indices.setter
    def example_indices(self, value: list[int]) -> None:
        self._own_indices = value

    # ------------------------------------------------------------ set-up
    def set_params(self, data: dict | None = None, backend: Any = None, mode: str | None = None,
                   num_batches: int | None = None, num_epochs: int | None = None,
                   run: Any = None, **kwargs: Any) -> None:
        """Validate against the run and check the memory budget.

        The storage of the new run is made when the run starts (its first
        ``on_test_begin``/``on_train_begin``), so a run refused before it
        starts (by this recorder, a later callback or the run's total budget)
        leaves the previous recording in place.
        """
        if backend is None:
            raise ConfigurationError(
                f"{self._owner} needs the run's backend; got set_params without backend=. "
                f"Pass the recorder to evaluate()/train() instead of calling it directly."
            )
        self._backend = backend
        self._validate(backend)
        examples = kwargs.get("num_examples")
        if examples is None and num_batches is not None:
            examples = num_batches * backend.batch_size
        self._examples.check_range(examples, self._owner)
        self._run_active = self._gate.phase_ok(mode)
        exact = kwargs.get("num_examples") is not None
        est = self._estimate(backend, examples, num_epochs, mode, exact)
        self.estimated_bytes = None if est is None else est.nbytes
        if est is not None:
            self._check_budget(est)
        budget = RecordingBudget() if run is None else run.share(RecordingBudget.KEY,
                                                                 RecordingBudget)
        budget.add(self._owner, None if est is None else est.nbytes)
        self._epoch = None
        self._active = False
        if self._claim is not None:
            self._claim.acquire(overwrite=self.overwrite)
        self._comm = kwargs.get("communicator") if kwargs.get("num_ranks", 1) > 1 else None
        self._mode = mode
        self._seq = 0
        self._gathered_seq = -1
        self._keys = []
        self._drop_gathered()
        self._pending = (backend, mode)
        self._data_dict = data

    # --------------------------------------------------------- run start
    def on_test_begin(self) -> None:
        self._drop_gathered()
        self._start_storage()

    def on_train_begin(self) -> None:
        self._drop_gathered()
        self._start_storage()

    def _drop_gathered(self) -> None:
        """Forget the last gather: the recording goes on (a new run, or the next
        validation pass of a ``train``), so this rank's own entries are the ones that grow
        until the next gather."""
        self._gathered = None
        self._gathered_indices = None

    def _start_storage(self) -> None:
        """Make the run's storage, and write the streaming folder, once the run has started.

        Deferred from set_params so that a run refused by a later
        callback's set_params leaves an earlier recording in memory and in
        the folder.  Validation inside ``train`` calls ``on_test_begin`` once,
        before the first epoch (mlGeNN's order), so one storage holds every
        validation pass, in order, as mlGeNN's recorders do.
        """
        if self._pending is not None:
            backend, mode = self._pending
            self._pending = None
            self._writer = None
            storage = self._prepare(backend, mode)
            if self._data_dict is not None:
                self._data_dict[self.key] = storage
        if self._writer is None or self.to is None:
            return
        if self._claim is not None and self._claim.held:
            self._claim.mark()
        self._writer.start()
        if self._data_dict is not None:
            self._data_dict[self.key] = open_recording(self.to)

    def _held_examples(self, examples: int | None, num_epochs: int | None,
                       mode: str | None) -> int | None:
        if not self._gate.phase_ok(mode):
            return 0
        if examples is None:
            return None
        count = self._examples.count
        per_epoch = examples if count is None else min(count, examples)
        return per_epoch * self._gate.count_epochs(num_epochs)

    def _check_budget(self, est: Estimate) -> None:
        if self.max_bytes is None or est.nbytes <= self.max_bytes:
            return
        raise ConfigurationError(
            f"{self._owner} max_bytes must cover the recording; got max_bytes="
            f"{format_bytes(self.max_bytes)} but it would hold about "
            f"{format_bytes(est.nbytes)} in memory ({est.text}). To fix: "
            f"{self._fix_hint}, or stream to disk with to='some/folder'. Nothing was simulated."
        )

    # ------------------------------------------------------------ gating
    def on_epoch_begin(self, epoch: int) -> None:
        """Remember the epoch (training, and each validation pass of ``train``) for the
        ``epochs=`` filter; a validation pass records on after the last gather."""
        self._epoch = epoch
        if self._mode == "validate":
            self._drop_gathered()

    def on_batch_begin(self, batch: int, run: Any) -> None:
        """Decide whether this batch is recorded and which of its entries."""
        if not self._run_active:
            self._active = False
            return
        self._seq += 1
        epoch = run.epoch if run.epoch is not None else self._epoch
        if not self._gate.epoch_ok(epoch):
            self._active = False
            return
        self._batch_epoch = epoch
        indices = np.asarray(run.example_indices, dtype=np.int64)
        # Filters and recorded indices refer to the whole data set, also when each
        # rank of a data-parallel run passed only its slice.
        to_global = getattr(run, "global_example_indices", None)
        if to_global is not None:
            indices = to_global(indices)
        self._local = self._examples.select(indices)
        self._batch_examples = indices[self._local]
        self._active = bool(self._local.size)
        if self._active and self.gather:
            self._keys.extend(batch_keys(run, self._seq, self._local, self._batch_examples))

    # ------------------------------------------------------------ gathering
    def on_epoch_end(self, epoch: int, metrics: Any) -> None:
        """``gather=True``, validation callbacks of ``train``: collect every rank's entries
        of the passes so far on rank 0 (collective), so rank 0's data is complete after
        every pass; training epochs gather once, at ``on_train_end``."""
        if self._mode == "validate":
            self._gather()

    def on_test_end(self, metrics: Any) -> None:
        """``gather=True``: collect every rank's entries on rank 0 (collective); after
        validation inside ``train``, only when something was recorded since the last pass's
        gather."""
        if self._gathered_seq != self._seq:
            self._gather()

    def on_train_end(self, metrics: Any) -> None:
        """``gather=True``: collect every rank's entries on rank 0 (collective)."""
        self._gather()

    def _gather(self) -> None:
        """Collect every rank's entries on rank 0 (keeping this rank's own untouched, since
        validation inside ``train`` gathers after every pass and then records on).

        Every rank calls it at the same points (the batches, and so ``_seq``, are the
        same on every rank), so the collective never waits for a rank that skips it.
        """
        if not self.gather or self._comm is None:
            return
        self._gathered_seq = self._seq
        result = gather_sorted(self._comm, self._keys, self._entries(), list(self._own_indices))
        if result is not None:
            entries, self._gathered_indices = result
            self._gathered = self._from_entries(entries)

    def _entries(self) -> list[Any]:
        """This rank's recorded entries, one per example (for ``gather=True``)."""
        raise NotImplementedError

    def _from_entries(self, entries: list[Any]) -> Any:
        """What ``get_data`` returns for gathered ``entries``."""
        raise NotImplementedError

    # ------------------------------------------------------------ subclass API
    def _validate(self, backend: Any) -> None:
        """Check the recorder against the backend (names, shapes) before anything."""
        raise NotImplementedError

    def _estimate(self, backend: Any, examples: int | None, num_epochs: int | None,
                  mode: str | None, exact: bool) -> Estimate | None:
        """Bytes the recording will hold in memory."""
        raise NotImplementedError

    def _prepare(self, backend: Any, mode: str | None) -> Any:
        """Create the storage of a new run and return what goes in ``data[key]``."""
        raise NotImplementedError

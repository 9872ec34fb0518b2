"""Recording spikes from populations built with ``record_spikes=True``."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from spikehooks.errors import ConfigurationError

from . import _spikes
from ._base import Estimate, RecorderBase, pop_name, pop_shape
from ._filters import neuron_ids
from ._reading import open_recording
from ._spike_store import BYTES_PER_SPIKE, SpikeStore, spike_lists
from ._streaming import StreamWriter


class SharedPull:
    """The spike recorders of one run that record the current batch.

    The first spike recorder of a run (``set_first``) pulls every buffer in
    one transfer when any of them records; they meet here, through
    ``run.share(SharedPull.KEY, SharedPull)``.
    """

    KEY = "spikehooks_recorders:pull_recording_buffers"

    def __init__(self) -> None:
        self.recording: set[SpikeRecorder] = set()


class SpikeRecorder(RecorderBase):
    """Record the spikes of one population.

    Parameters
    ----------
    pop : Population
        Built with ``record_spikes=True``.
    key : hashable, optional
        Key of the data in ``cb_data`` (None: the callback's index, with a warning).
    example_filter : None, int, sequence of int or sequence of bool
        Examples (indices into the whole data set) to record.
    neuron_filter : None, int, ints, bools, slice or numpy index
        Neurons to record (see docs/recording.md); ids stay the original ones.
    record_counts : bool
        Record one per-neuron spike count array per example instead of spike lists.
    epochs : None, int, iterable of int, or callable epoch -> bool
        Training epochs to record in (None: all).
    phase : None, str or set of str
        ``"train"``, ``"validate"`` and/or ``"test"`` (None: all).
    max_bytes : None, int or str
        Refuse a run whose recording would hold more (e.g. ``"500MB"``).
    to : str or os.PathLike, optional
        Stream to this folder as ``.npy`` files instead of holding the data.
        The folder must be empty or missing, or hold this recorder's own
        earlier recording (see ``overwrite``); another recorder or process
        writing it is refused (``spikehooks.folders``).
    overwrite : bool
        Replace what the ``to=`` folder holds (another run's recording, other
        files of the same names); without it such a folder is refused in
        ``set_params``, before anything is simulated.
    gather : bool
        Data-parallel runs: collect every rank's recorded examples on rank 0
        at the end of the run, in the order one process would record them
        (see ``docs/scale-out.md``).  Collective: give the recorder to every
        rank.  Other ranks keep their own examples.  Not with ``to=``.

    Data
    ----
    ``cb_data[key] == (times, ids)``: two lists with one entry per recorded
    example; ``times[i]`` float64 ms from the start of the example
    (``timestep * dt``), ``ids[i]`` int32 flat C-order neuron ids, ordered by
    time, then id ascending within a timestep.  With ``record_counts=True``:
    a list of int64 arrays, shape (n_selected,), neurons in ascending id order.
    ``recorder.example_indices`` holds the data-set index of every entry.
    """

    #: The window pull, attached when the buffer is shorter than a batch.

    first_of_type_key = "spikehooks_recorders:pull_recording_buffers"

    def __init__(self, pop: Any, key: Any = None, example_filter: Any = None,
                 neuron_filter: Any = None, record_counts: bool = False, *,
                 epochs: Any = None, phase: Any = None, max_bytes: Any = None,
                 to: str | os.PathLike | None = None, overwrite: bool = False,
                 gather: bool = False):
        super().__init__(key, example_filter, epochs, phase, max_bytes, to, overwrite, gather)
        self.pop = pop
        self.neuron_filter = neuron_filter
        self.record_counts = bool(record_counts)
        self._shape = pop_shape(pop)
        self._ids: np.ndarray | None = None
        if self._shape is not None:
            self._ids = neuron_ids(neuron_filter, self._shape, pop_name(pop), self._owner)
        self._is_first = False
        self._pull = SharedPull()
        self._windowed = False
        self._chunks: list[tuple[int, np.ndarray]] = []
        #: Data-set index of every recorded entry (in memory only; see the handle's
        #: ``examples`` when streaming).
        self.example_indices = []
        self._store = SpikeStore(_spikes.Decoder(1.0))
        self._counts: list[np.ndarray] = []

    def __repr__(self) -> str:
        what = "counts" if self.record_counts else "spikes"
        n = "all" if self._ids is None else len(self._ids)
        return (f"SpikeRecorder({pop_name(self.pop)!r}, key={self.key!r}, {what}, "
                f"neurons={n}, to={self.to!r})")

    # ------------------------------------------------------------ set-up
    def _validate(self, backend: Any) -> None:
        if not backend.is_spike_recording_enabled(self.pop):
            name = pop_name(self.pop)
            raise ConfigurationError(
                f"{self._owner} population {name!r} must record spikes; got "
                f"record_spikes=False. Set record_spikes=True on {name!r} when building "
                f"the network, e.g. Layer(..., record_spikes=True)."
            )
        if self._shape is None:
            self._shape = (int(backend.get_var(self.pop, next(iter(
                backend.get_var_names(self.pop).values()))).shape[1]),)
            self._ids = neuron_ids(self.neuron_filter, self._shape, pop_name(self.pop),
                                   self._owner)

    @property
    def num_neurons(self) -> int:
        """Number of neurons recorded."""
        assert self._shape is not None
        return int(np.prod(self._shape)) if self._ids is None else len(self._ids)

    def _max_spikes(self, backend: Any) -> int:
        """Most spikes a neuron can emit in one example (refractoriness lowers it)."""
        steps = int(backend.num_timesteps)
        tau_refrac = getattr(getattr(self.pop, "neuron", None), "tau_refrac", None)
        if isinstance(tau_refrac, (int, float, np.integer, np.floating)) and tau_refrac > 0:
            # After a spike, RefracTime must count down to 0: a spike at most every
            # ceil(tau_refrac / dt) steps.
            gap = max(1, math.ceil(tau_refrac / float(backend.dt) - 1e-9))
            return -(-steps // gap)
        return steps

    def _estimate(self, backend: Any, examples: int | None, num_epochs: int | None,
                  mode: str | None, exact: bool) -> Estimate | None:
        n, steps = self.num_neurons, int(backend.num_timesteps)
        if self.record_counts:
            per_example, text = n * 8, f"{n} neurons x 8 bytes"
        else:
            # Held as decoded spikes or as packed bits, whichever is smaller.
            spikes = self._max_spikes(backend)
            decoded = n * spikes * BYTES_PER_SPIKE
            bits = steps * 4 * -(-int(np.prod(self._shape or (n,))) // 32)
            per_example = min(decoded, bits)
            text = (f"upper bound: min({n} neurons x {spikes} spikes x {BYTES_PER_SPIKE} bytes, "
                    f"{steps} timesteps x {bits // steps} bytes of packed bits)")
        if self.to is not None:
            # Streaming decodes each batch before writing it.
            return Estimate(n * self._max_spikes(backend) * BYTES_PER_SPIKE * backend.batch_size,
                            "one batch, streamed to disk", True)
        held = self._held_examples(examples, num_epochs, mode)
        if held is None:
            return None
        return Estimate(per_example * held, f"{held} examples x {text}",
                        exact and self.record_counts)

    def _prepare(self, backend: Any, mode: str | None) -> Any:
        self._dt = float(backend.dt)
        self._num_steps = int(backend.num_timesteps)
        assert self._shape is not None  # set by _validate
        self._num_total = int(np.prod(self._shape))
        self._decoder = _spikes.Decoder(self._dt)
        self._keep = _spikes.keep_words(self._ids, self._num_total)
        self._chunks = []
        self.example_indices = []
        if self.to is not None:
            arrays: dict[str, tuple[Any, tuple[int, ...]]] = {"examples": (np.int64, ())}
            if self.record_counts:
                arrays["counts"] = (np.int64, (self.num_neurons,))
            else:
                arrays.update(times=(np.float64, ()), ids=(np.int32, ()), ends=(np.int64, ()))
            self._ends = 0
            self._writer = StreamWriter(self.to, self._meta(), arrays)
            return None  # the folder is written when the run starts
        self._store = SpikeStore(self._decoder)
        self._counts = []
        return self._counts if self.record_counts else spike_lists(self._store)

    def _meta(self) -> dict:
        ids = None if self._ids is None else self._ids.tolist()
        return {"kind": "counts" if self.record_counts else "spikes", "key": repr(self.key),
                "population": pop_name(self.pop), "shape": list(self._shape or ()),
                "dt": self._dt, "num_timesteps": self._num_steps, "neuron_ids": ids}

    def set_params(self, data: dict | None = None, backend: Any = None, mode: str | None = None,
                   num_batches: int | None = None, num_epochs: int | None = None,
                   run: Any = None, **kwargs: Any) -> None:
        """Validate and check the budget; join the run's recorders sharing the buffer pull."""
        super().set_params(data=data, backend=backend, mode=mode, num_batches=num_batches,
                           num_epochs=num_epochs, run=run, **kwargs)
        self._is_first = False
        self._pull = SharedPull() if run is None else run.share(SharedPull.KEY, SharedPull)
        self._pull.recording.discard(self)
        # Pull mid-batch only when the buffer holds less than a batch.
        self._windowed = backend.num_recording_timesteps < backend.num_timesteps

    def skipped_hooks(self) -> tuple[str, ...]:
        """Without mid-batch windows, no timestep hook (a batch then runs in one call)."""
        return () if self._windowed else ("on_timestep_end",)

    def set_first(self) -> None:
        """Make this recorder the one that pulls the buffers for all spike recorders."""
        self._is_first = True

    # ------------------------------------------------------------ hooks
    def on_batch_begin(self, batch: int, run: Any) -> None:
        """Decide whether this batch is recorded; tell the recorders sharing the pull."""
        super().on_batch_begin(batch, run)
        if self._active:
            self._pull.recording.add(self)
        else:
            self._pull.recording.discard(self)

    def on_timestep_end(self, timestep: int) -> None:
        """Pull and keep a full window mid-batch (runs whose buffer holds less than a batch)."""
        if timestep + 1 >= self._num_steps or not self._backend.recording_window_ready(timestep):
            return
        if self._is_first and self._pull.recording:
            self._backend.pull_recording_buffers()
        if self._active:
            self._chunks.append(self._take())

    def on_batch_end(self, batch: int, metrics: Any) -> None:
        """Pull the rest of the batch's buffer and store the batch's spikes."""
        if self._is_first and self._pull.recording:
            self._backend.pull_recording_buffers()
        if not self._active:
            return
        self._active = False
        self._pull.recording.discard(self)
        start, words = self._take()
        if self._chunks:
            start = self._chunks[0][0]
            words = np.concatenate([w for _, w in self._chunks] + [words], axis=1)
            self._chunks = []
        examples = self._batch_examples
        if self._writer is None and not self.record_counts:
            self.example_indices.extend(examples.tolist())
            self._store.add_bits(words, start)
            return
        times, ids, per_entry = self._decoder.decode(words, start)
        if self.record_counts:
            table = _spikes.counts(ids, per_entry, self._num_total, self._ids)
            if self._writer is not None:
                self._writer.append({"counts": table, "examples": examples})
            else:
                self.example_indices.extend(examples.tolist())
                self._counts.extend(table)
            return
        ends = self._ends + np.cumsum(per_entry)
        self._writer.append({"times": times, "ids": ids, "ends": ends, "examples": examples})
        self._ends = int(ends[-1]) if ends.size else self._ends

    def _take(self) -> tuple[int, np.ndarray]:
        """Copy the pulled bits of the recorded entries: uint32 (n_local, n_steps, n_words)."""
        start, bits = self._backend.get_spike_bits(self.pop)
        words = bits.transpose(1, 0, 2)[self._local]
        if self._keep is not None:
            words &= self._keep
        return start, words

    @property
    def held_bytes(self) -> int:
        """Bytes of spike data held in memory now (packed bits or times + ids)."""
        if self.record_counts:
            return sum(c.nbytes for c in self._counts)
        return self._store.nbytes

    def _entries(self) -> list[Any]:
        if self.record_counts:
            return list(self._counts)
        times, ids = spike_lists(self._store)
        return list(zip(times, ids, strict=True))

    def _from_entries(self, entries: list[Any]) -> Any:
        if self.record_counts:
            return entries
        return [t for t, _ in entries], [i for _, i in entries]

    def get_data(self) -> tuple[Any, Any]:
        """Return ``(key, (times, ids))`` (or ``(key, counts)``; a lazy handle with ``to=``)."""
        if self._gathered is not None:
            return self.key, self._gathered
        if self._writer is not None:
            return self.key, open_recording(self.to)  # type: ignore[arg-type]
        if self.record_counts:
            return self.key, self._counts
        return self.key, spike_lists(self._store)

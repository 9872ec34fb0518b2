"""The context of one ``train``/``evaluate`` run, passed to hooks as ``run``.

The facts a callback may want about the run live here, written by the loop
that runs it (:class:`spikehooks.CompiledNetwork` and its training subclass)
and read by callbacks, instead of being parked on the backend or the compiled
network and read back from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from ..backends.protocol import Backend
    from .callback_list import CallbackList

T = TypeVar("T")


def _no_examples() -> np.ndarray:
    # Imported here: ``import spikehooks`` does not load NumPy.
    import numpy

    return numpy.empty(0, dtype=numpy.int64)


@dataclass
class RunContext:
    """What a hook may want to know about the run it is called in.

    Attributes
    ----------
    mode : {"train", "validate", "test"}
        Which loop is running.
    compiled_network : CompiledNetwork or None
        The compiled network being run.
    backend : Backend or None
        The backend simulating it (the only interface plugins may use).
    data : dict
        The ``cb_data`` dictionary callbacks store their data in.
    batch_size : int or None
        The compiled batch size (entries simulated in parallel), from the
        backend.
    num_batches : int or None
        Batches per epoch (or in the data set, for inference).
    num_epochs : int or None
        Epochs of this run (1 for inference).
    epoch : int or None
        The current epoch (None for plain inference).
    example_indices : numpy.ndarray of int64, shape (num_examples_in_batch,)
        Index into the data set (as passed to ``evaluate``/``train``, before
        any shuffling) of each real example of the current batch; set before
        ``on_batch_begin``.  Empty before the first batch.
    num_examples_in_batch : int
        Real (non-padding) examples in the current batch, ``<= batch_size``.
    validation_metrics : dict or None
        Output population -> metric of the epoch's validation, during a
        ``train`` that validates (the same objects ``on_validation_end``
        receives, complete from that hook on); None otherwise.
    rank : int
        This process's rank in a run spread over several processes (0 alone).
    num_ranks : int
        Processes taking part in the run (1 alone).
    communicator : Communicator or None
        The run's communicator in a data-parallel run, for callbacks that
        gather (collective calls only from hooks that every rank runs).
    shard : bool
        True when every rank got the full data set and the run splits it
        (example indices are then global); False when each rank passed its
        own slice (mlGeNN's way).
    shared : dict
        Per-run objects the callbacks of this run share, by a key their
        distribution owns; see :meth:`share`.
    """

    mode: str = "test"
    compiled_network: Any = None
    backend: Backend | None = None
    data: dict = field(default_factory=dict)
    batch_size: int | None = None
    num_batches: int | None = None
    num_epochs: int | None = None
    epoch: int | None = None
    example_indices: np.ndarray = field(default_factory=_no_examples)
    num_examples_in_batch: int = 0
    validation_metrics: dict | None = None
    rank: int = 0
    num_ranks: int = 1
    communicator: Any = None
    shard: bool = False
    shared: dict[str, Any] = field(default_factory=dict)
    # The dispatcher of this run, which owns the callbacks' identity and state.
    # Callbacks never get the list itself: they ask through the methods below.
    _callbacks: CallbackList | None = field(default=None, repr=False)

    def callback_state_dict(self) -> dict[str, Any]:
        """Return the state of this run's callbacks, ``{stable name: state}``.

        What a checkpoint saves: see :meth:`spikehooks.CallbackList.state_dict`.
        Empty outside a run.
        """
        return {} if self._callbacks is None else self._callbacks.state_dict()

    def load_callback_state_dict(self, state: dict[str, Any], *,
                                 source: str = "The state") -> None:
        """Give this run's callbacks their saved state (what :meth:`callback_state_dict` returned).

        See :meth:`spikehooks.CallbackList.load_state_dict`.
        """
        if self._callbacks is not None:
            self._callbacks.load_state_dict(state, source=source)

    def share(self, key: str, factory: Callable[[], T]) -> T:
        """Return the run's one object under ``key``, made by ``factory()`` on first request.

        Callbacks of one run that pool something (the recorders' memory
        budget, the pull of the spike buffers) meet in this object instead of
        looking for each other in the callback list.  After every callback's
        ``set_params`` the dispatcher calls ``before_run()`` on each shared
        object that defines it, in creation order: the place to check what
        the members registered and refuse the run before anything runs.

        Parameters
        ----------
        key : str
            Unique to its owner, e.g. ``"spikehooks_recorders:budget"``.
        factory : callable
            Makes the object on first request.
        """
        if key not in self.shared:
            self.shared[key] = factory()
        return self.shared[key]

    def start_batch(self, example_indices: np.ndarray) -> None:
        """Record the data-set indices of the batch about to run (int64, 1-D)."""
        self.example_indices = example_indices
        self.num_examples_in_batch = len(example_indices)

    def global_example_indices(self, indices: Any) -> np.ndarray:
        """Map this rank's example indices to indices into the whole data set.

        With ``shard=True`` (or one rank) they already are.  With each rank
        passing ``slice(rank, None, num_ranks)`` of the data (mlGeNN's
        way), local example ``i`` is global example ``i * num_ranks + rank``.
        """
        import numpy

        local = numpy.asarray(indices, dtype=numpy.int64)
        if self.shard or self.num_ranks == 1:
            return local
        return local * self.num_ranks + self.rank


__all__ = ["RunContext"]

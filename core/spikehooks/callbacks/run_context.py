"""The context of one ``train``/``evaluate`` run, passed to hooks as ``run``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunContext:
    """What a hook may want to know about the run it is called in.

    Attributes
    ----------
    mode : {"train", "validate", "test"}
        Which loop is running.
    compiled_network : object or None
        The compiled network being run.
    backend : spikehooks.backends.Backend or None
        The backend simulating it (the only interface plugins may use).
    data : dict
        The ``cb_data`` dictionary callbacks store their data in.
    num_batches : int or None
        Batches per epoch (or in the data set, for inference).
    num_epochs : int or None
        Epochs of this run (1 for inference).
    epoch : int or None
        The current epoch (None for plain inference).
    rank : int
        This process's rank in a data-parallel run (0 without a communicator).
    num_ranks : int
        Processes in the run (1 without a communicator).
    communicator : Communicator or None
        The run's communicator, for callbacks that gather (collective calls
        only from hooks that every rank runs).
    shard : bool
        True when every rank got the full data set and the run splits it
        (example indices are then global); False when each rank passed its
        own slice (mlGeNN's way).
    """

    mode: str = "test"
    compiled_network: Any = None
    backend: Any = None
    data: dict = field(default_factory=dict)
    num_batches: int | None = None
    num_epochs: int | None = None
    epoch: int | None = None
    rank: int = 0
    num_ranks: int = 1
    communicator: Any = None
    shard: bool = False

    def global_example_indices(self, indices: Any) -> Any:
        """Map this rank's example indices to indices into the whole data set.

        With ``shard=True`` (or one rank) they already are.  With each rank
        passing ``slice(rank, None, num_ranks)`` of the data (mlGeNN's
        way), local example ``i`` is global example ``i * num_ranks + rank``.
        """
        import numpy as np

        local = np.asarray(indices, dtype=np.int64)
        if self.shard or self.num_ranks == 1:
            return local
        return local * self.num_ranks + self.rank


__all__ = ["RunContext"]

"""The interface every communicator implements (mlGeNN's names, plus what spikehooks needs)."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class Communicator(ABC):
    """Base class of communicators: collective operations over ``num_ranks`` processes.

    mlGeNN's interface (``rank``, ``num_ranks``, ``barrier``, ``broadcast``,
    ``reduce_sum``) plus the collectives data-parallel training uses:
    :meth:`allreduce`, :meth:`gather`, :meth:`allgather`,
    :meth:`broadcast_object` and :meth:`abort`.  Every method except
    ``rank``/``num_ranks`` and :meth:`abort` is collective: every rank must
    call it, in the same order.
    """

    @property
    @abstractmethod
    def rank(self) -> int:
        """Index of this process, ``0 .. num_ranks - 1``."""

    @property
    @abstractmethod
    def num_ranks(self) -> int:
        """Number of processes in the run."""

    @abstractmethod
    def barrier(self) -> None:
        """Wait until every rank has reached this call."""

    @abstractmethod
    def broadcast(self, data: np.ndarray, root: int) -> None:
        """Overwrite ``data`` (a contiguous numpy array) on every rank with ``root``'s, in place."""

    @abstractmethod
    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        """Return ``root``'s ``obj`` (any picklable object) on every rank."""

    @abstractmethod
    def allreduce(self, array: np.ndarray) -> np.ndarray:
        """Return the element-wise sum over ranks of a float32 or float64 array, on every rank.

        Parameters
        ----------
        array : numpy.ndarray of float32 or float64
            This rank's part; same shape and dtype on every rank.

        Returns
        -------
        numpy.ndarray
            The sum, same shape and dtype, bit for bit the same on every rank.
        """

    @abstractmethod
    def allgather(self, obj: Any) -> list[Any]:
        """Return every rank's ``obj`` (picklable), in rank order, on every rank."""

    @abstractmethod
    def gather(self, obj: Any, root: int = 0) -> list[Any] | None:
        """Return every rank's ``obj`` in rank order on ``root``; None on the other ranks."""

    def reduce_sum(self, value: Any) -> Any:
        """Return the sum of a number (or array) over every rank (mlGeNN's name)."""
        if isinstance(value, np.ndarray) and value.dtype in (np.float32, np.float64):
            return self.allreduce(value)
        parts = self.allgather(value)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def abort(self, message: str, exit_code: int = 1) -> None:
        """End every rank of the job at once, after printing ``message`` on this rank's stderr.

        Called when one rank fails, so that the others do not wait forever in
        a collective.  The default prints and exits this process only;
        :class:`MPI` ends the whole job.
        """
        print(message, file=sys.stderr, flush=True)
        raise SystemExit(exit_code)

    def abort_on_error(self, exc: BaseException) -> None:
        """Report ``exc`` with this rank's number and traceback, then :meth:`abort` the job."""
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.abort(
            f"spikehooks: rank {self.rank} of {self.num_ranks} failed with "
            f"{type(exc).__name__}: {exc}\n{text}spikehooks: aborting every rank of the job."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, num_ranks={self.num_ranks})"


__all__ = ["Communicator"]

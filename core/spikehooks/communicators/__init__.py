"""Communicators: how the ranks of a data-parallel run talk to each other.

``MPI`` (on mpi4py) is registered under the entry-point group
``spikehooks.communicators`` as ``"mpi"``; a third party adds another
(NCCL, Gloo, ...) by subclassing :class:`Communicator` and registering it
there.  See ``docs/scale-out.md``.
"""

from __future__ import annotations

from typing import Any

from .communicator import Communicator as Communicator
from .tree import shard_sizes as shard_sizes
from .tree import tree_sum as tree_sum


def __getattr__(name: str) -> Any:
    # MPI is imported on first use: training imports this package for tree_sum.
    if name == "MPI":
        from .mpi import MPI

        return MPI
    raise AttributeError(f"module 'spikehooks.communicators' has no attribute {name!r}")


__all__ = ["MPI", "Communicator", "shard_sizes", "tree_sum"]

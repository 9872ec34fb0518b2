"""Communicators: how the ranks of a data-parallel run talk to each other.

``MPI`` (on mpi4py) is registered under the entry-point group
``spikehooks.communicators`` as ``"mpi"``; a third party adds another
(NCCL, Gloo, ...) by subclassing :class:`Communicator` and registering it
there.  See ``docs/scale-out.md``.
"""

from __future__ import annotations

from .communicator import Communicator as Communicator
from .mpi import MPI as MPI
from .tree import shard_sizes as shard_sizes
from .tree import tree_sum as tree_sum

__all__ = ["MPI", "Communicator", "shard_sizes", "tree_sum"]

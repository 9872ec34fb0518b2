"""GeNN's CUDA device and block-size selection names, for ported mlGeNN scripts.

mlGeNN's MPI examples import them from pygenn (``from pygenn.cuda_backend
import DeviceSelect``; GeNN 4's ``from pygenn.genn_wrapper.CUDABackend import
DeviceSelect_MANUAL``) to give each rank its own GPU.  Ported by changing that
import to ``spikehooks.backends.genn_backend``, the names are pygenn's own
where pygenn has a CUDA backend; elsewhere these stand-ins, which only the
CPU backends ever receive, and they ignore them (``docs/scale-out.md``).
"""

from __future__ import annotations

import enum
import importlib
from typing import Any


class DeviceSelect(enum.IntEnum):
    """Stand-in for GeNN's ``DeviceSelect`` (how the CUDA backend picks a GPU)."""

    OPTIMAL = 0
    MOST_MEMORY = 1
    MANUAL = 2


class BlockSizeSelect(enum.IntEnum):
    """Stand-in for GeNN's ``BlockSizeSelect`` (how CUDA block sizes are chosen)."""

    OCCUPANCY = 0
    MANUAL = 1


_ENUMS = {"DeviceSelect": DeviceSelect, "BlockSizeSelect": BlockSizeSelect}
#: GeNN 4 spelt the members as module constants, e.g. ``DeviceSelect_MANUAL``.
NAMES = tuple(_ENUMS) + tuple(f"{e}_{m.name}" for e, cls in _ENUMS.items() for m in cls)


def lookup(name: str) -> Any:
    """Return pygenn's ``name`` (GeNN 5 spelling) where pygenn has CUDA, else the stand-in."""
    enum_name, _, member = name.partition("_")
    try:
        found: Any = getattr(importlib.import_module("pygenn.cuda_backend"), enum_name)
    except (ImportError, AttributeError):
        found = _ENUMS[enum_name]
    return getattr(found, member) if member else found


__all__ = ["NAMES", "BlockSizeSelect", "DeviceSelect", "lookup"]

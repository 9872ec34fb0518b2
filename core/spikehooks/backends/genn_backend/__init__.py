"""The GeNN backend (registered as ``"genn"``): inference on GeNN through pygenn.

Importing this package does not import pygenn; creating a
:class:`GeNNBackend` does, and raises :class:`PygennUnavailableError` (an
``ImportError``) explaining how to build pygenn when it is missing.

``DeviceSelect`` and ``BlockSizeSelect`` (and GeNN 4's ``DeviceSelect_MANUAL``
...) are pygenn's where pygenn has CUDA, else stand-ins: see
:mod:`._device_select`.
"""

from __future__ import annotations

from typing import Any

from ._backend import GeNNBackend
from ._device_select import NAMES as _DEVICE_NAMES
from ._device_select import lookup as _lookup
from ._pygenn import PygennUnavailableError


def __getattr__(name: str) -> Any:
    # Looked up on use, so importing this package still does not import pygenn.
    if name in _DEVICE_NAMES:
        return _lookup(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GeNNBackend", "PygennUnavailableError", *_DEVICE_NAMES]

"""The GeNN backend (registered as ``"genn"``): inference on GeNN through pygenn.

Importing this package does not import pygenn; creating a
:class:`GeNNBackend` does, and raises :class:`PygennUnavailableError` (an
``ImportError``) explaining how to build pygenn when it is missing.
"""

from __future__ import annotations

from ._backend import GeNNBackend
from ._pygenn import PygennUnavailableError

__all__ = ["GeNNBackend", "PygennUnavailableError"]

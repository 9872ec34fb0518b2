"""The embedded NumPy backend (registered as ``"numpy"``)."""

from __future__ import annotations

from ._backend import NumpyBackend

__all__ = ["NumpyBackend"]

"""The compiled CPU backend (registered as ``"compiled"``; needs the optional numba)."""

from __future__ import annotations

from ._backend import CompiledBackend

__all__ = ["CompiledBackend"]

"""Simulation backends: the protocol and the embedded NumPy backend."""

from __future__ import annotations

from .protocol import Backend

__all__ = ["Backend"]

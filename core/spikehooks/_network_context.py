"""The stack of networks opened with ``with network:``."""

from __future__ import annotations

import threading
from typing import Any

_local = threading.local()


def _stack() -> list[Any]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_network() -> Any:
    """Return the innermost active network, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def push(network: Any) -> None:
    _stack().append(network)


def pop(network: Any) -> None:
    stack = _stack()
    if stack and stack[-1] is network:
        stack.pop()


__all__ = ["current_network", "pop", "push"]

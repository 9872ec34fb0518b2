"""numba, imported on first use: the compiled backend is an optional extra."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from ...errors import MissingDependencyError


def numba_available() -> bool:
    """Return whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def require_numba() -> Any:
    """Import and return numba, or say how to install it."""
    try:
        import numba
    except ImportError as exc:
        raise MissingDependencyError(
            f"the compiled backend needs numba; got ImportError ({exc}). Install it with "
            f"`python -m pip install numba` (requirements-dev.txt installs it), or pass "
            f"backend='numpy'."
        ) from exc
    return numba


def max_threads() -> int:
    """Return the most threads numba can use (every core it sees, by default)."""
    return int(require_numba().config.NUMBA_NUM_THREADS)


#: Process that started numba's thread pool (None: not started).
_pool_pid: int | None = None
#: (parallel, serial) kernel pairs whose serial twin a forked child will need.
_twins: list[tuple[Any, Any]] = []


def _load_serial_twins() -> None:
    """Before ``fork``: have every serial twin ready for the parallel signatures in use.

    A child forked after the thread pool started runs the serial kernels; loading
    them there (from the disk cache) would cost every child a fraction of a second.
    """
    for parallel, serial in _twins:
        for signature in parallel.signatures:
            serial.compile(signature)


def register_twin(parallel: Any, serial: Any) -> None:
    """Remember that ``serial`` replaces ``parallel`` in a forked child."""
    if not _twins and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_load_serial_twins)
    if (parallel, serial) not in _twins:
        _twins.append((parallel, serial))


def use_threads(num_threads: int) -> bool:
    """Prepare ``num_threads`` threads for a parallel kernel; return whether to use one.

    False for one thread, and in a child forked from a process whose thread
    pool had started: numba's pools do not survive ``fork`` (the child would
    wait forever for workers it does not have), so the child runs the serial
    kernels, with the same results.
    """
    global _pool_pid
    if num_threads <= 1 or (_pool_pid is not None and _pool_pid != os.getpid()):
        return False
    numba = require_numba()
    if numba.get_num_threads() != num_threads:
        numba.set_num_threads(num_threads)
    _pool_pid = os.getpid()
    return True


__all__ = ["max_threads", "numba_available", "require_numba", "use_threads"]

"""Which backend a compiler uses when none is named.

The compiled backend when numba can be imported, else the NumPy backend
(one log line says so, once per process).  A network the compiled backend
cannot run also falls back to the NumPy backend, with a log line naming
the feature.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger("spikehooks.backends")


@functools.lru_cache(maxsize=1)
def default_backend_name() -> str:
    """Return ``"compiled"`` when numba is importable, else ``"numpy"`` (logged once)."""
    from .compiled_backend._numba import numba_available

    if numba_available():
        return "compiled"
    log.warning("numba is not installed: spikehooks uses the NumPy backend (install numba "
                "for the compiled backend, e.g. `python -m pip install numba`)")
    return "numpy"


def unsupported_by_default(network: Any) -> str | None:
    """Return the feature of ``network`` the default (compiled) backend cannot run, or None.

    Logs the fallback to the NumPy backend when there is one.
    """
    if default_backend_name() != "compiled":
        return None
    from .compiled_backend._checks import unsupported_feature

    feature = unsupported_feature(network)
    if feature is not None:
        log.warning("the compiled backend cannot run this network (%s): spikehooks uses the "
                    "NumPy backend for it", feature)
    return feature


__all__ = ["default_backend_name", "unsupported_by_default"]

"""mlGeNN names spikehooks does not offer yet, each refused with what to use instead.

``from spikehooks.compilers import CompiledInferenceNetwork`` raises
:class:`spikehooks.errors.UnsupportedFeatureError` (an ``ImportError``) naming
the mlGeNN feature, rather than Python's bare "cannot import name".
"""

from __future__ import annotations

from typing import Any

from .errors import UnsupportedFeatureError

#: module -> mlGeNN name -> why and what to use instead.
MISSING: dict[str, dict[str, str]] = {
    "spikehooks.compilers": {
        "CompiledInferenceNetwork": "InferenceCompiler.compile returns a CompiledNetwork; "
                                    "use CompiledNetwork",
    },
}


def refuse(module: str, name: str) -> Any:
    """Raise the error for ``module.name``: unsupported if mlGeNN has it, else AttributeError."""
    reason = MISSING.get(module, {}).get(name)
    if reason is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    raise UnsupportedFeatureError(f"{module}.{name} (mlGeNN's {name}) is not supported: "
                                  f"{reason}.")


__all__ = ["MISSING", "refuse"]

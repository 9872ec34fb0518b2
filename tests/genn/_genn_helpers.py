"""Helpers of the genn backend tests (the golden networks are in ``tests/_golden.py``)."""

from __future__ import annotations

from pathlib import Path

from spikehooks import InferenceCompiler

PYGENN_MISSING = ("pygenn (GeNN 5's Python package) is not installed; it is built from GeNN's "
                  "source (docs/genn-backend.md)")


def compiler(backend: str, timesteps: int, cache: Path, **kwargs) -> InferenceCompiler:
    """Return an InferenceCompiler at batch size 1 on ``"genn"`` (cached in ``cache``) or numpy."""
    spec = ("genn", {"cache_dir": cache}) if backend == "genn" else "numpy"
    return InferenceCompiler(evaluate_timesteps=timesteps, batch_size=1, backend=spec, **kwargs)

"""mlGeNN names spikehooks does not offer yet, each refused with what to use instead.

``from spikehooks.compilers import EPropCompiler`` raises
:class:`spikehooks.errors.UnsupportedFeatureError` (an ``ImportError``) naming
the mlGeNN feature, rather than Python's bare "cannot import name".
"""

from __future__ import annotations

from typing import Any

from .errors import UnsupportedFeatureError

_CONV = ("mlGeNN's convolution and pooling connectivity is not in spikehooks yet; "
         "flatten the input and use Dense")
_FEW_SPIKE = ("mlGeNN's few-spike (ANN conversion) models are not in spikehooks yet; "
              "convert with mlGeNN")

#: module -> mlGeNN name -> why and what to use instead.
MISSING: dict[str, dict[str, str]] = {
    "spikehooks.compilers": {
        "EPropCompiler": "e-prop training is not in spikehooks yet; train with "
                         "EventPropCompiler",
        "FewSpikeCompiler": _FEW_SPIKE,
        "CompiledFewSpikeNetwork": _FEW_SPIKE,
        "CompiledInferenceNetwork": "InferenceCompiler.compile returns a CompiledNetwork; "
                                    "use CompiledNetwork",
    },
    "spikehooks.connectivity": {name: _CONV for name in (
        "Conv2D", "Conv2DTranspose", "AvgPool2D", "AvgPoolConv2D", "AvgPoolDense2D")},
    "spikehooks.neurons": {"FewSpikeRelu": _FEW_SPIKE, "FewSpikeReluInput": _FEW_SPIKE},
}


def refuse(module: str, name: str) -> Any:
    """Raise the error for ``module.name``: unsupported if mlGeNN has it, else AttributeError."""
    reason = MISSING.get(module, {}).get(name)
    if reason is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    raise UnsupportedFeatureError(f"{module}.{name} (mlGeNN's {name}) is not supported: "
                                  f"{reason}.")


__all__ = ["MISSING", "refuse"]

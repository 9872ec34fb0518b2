"""Flat text descriptions of a compiled network, for tracking servers' run parameters."""

from __future__ import annotations

from typing import Any

#: MLflow refuses longer parameter values.
MAX_VALUE = 6000


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def describe_run(compiled_network: Any) -> dict[str, str]:
    """Return ``{name: text}`` for the compiler's settings and the network's parts.

    Keys: ``compiler`` (the class), ``compiler.<attribute>`` for every public
    attribute of the compiler, ``network.<population>`` and
    ``network.<population>.neuron`` for every population, and
    ``network.<connection>`` for every connection (connectivity and synapse
    included in its text).
    """
    params: dict[str, str] = {}
    compiler = getattr(compiled_network, "compiler", None)
    if compiler is not None:
        params["compiler"] = type(compiler).__name__
        for name, value in sorted(vars(compiler).items()):
            if not name.startswith("_"):
                params[f"compiler.{name}"] = _text(value)
    network = getattr(compiled_network, "network", None)
    for pop in getattr(network, "populations", ()):
        params[f"network.{pop.name}"] = _text(pop)
        params[f"network.{pop.name}.neuron"] = _text(pop.neuron)
    for conn in getattr(network, "connections", ()):
        params[f"network.{conn.name}"] = _text(conn)
    return params

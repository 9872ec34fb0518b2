"""Lookups every backend does the same way, with the same error messages.

Backends keep their own per-population and per-connection state in dicts
keyed by the user's objects; these helpers find an entry or say which
objects the compiled network has, resolve a variable name given by its
user or backend name, and find a population's readout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError


def population_entry(table: Mapping[Any, Any], population: Any) -> Any:
    """Return ``table[population]``, or refuse an object this network does not have."""
    try:
        return table[population]
    except (KeyError, TypeError):
        names = [p.name for p in table]
        raise ConfigurationError(
            f"population must be one of this network's populations {names}; got "
            f"{population!r}. Pass the Population or layer object of the compiled network."
        ) from None


def connection_entry(table: Mapping[Any, Any], connection: Any) -> Any:
    """Return ``table[connection]``, or refuse an object this network does not have."""
    try:
        return table[connection]
    except (KeyError, TypeError):
        names = [c.name for c in table]
        raise ConfigurationError(
            f"connection must be one of this network's connections {names}; got "
            f"{connection!r}. Pass the Connection object (a Layer's .connection)."
        ) from None


def backend_var_name(population: Any, names: Mapping[str, str], name: str) -> str:
    """Return the backend name of variable ``name`` (a user or a backend name).

    Parameters
    ----------
    names : mapping of str to str
        The population's variables, user name to backend name.
    """
    if name in names:
        return names[name]
    if name in names.values():
        return name
    shown = ", ".join(f"{u!r} ({b!r})" for u, b in names.items()) or "none"
    raise ConfigurationError(
        f"variable of population {population.name!r} must be one of {shown}; got "
        f"{name!r}. Use a user name or its backend name."
    )


#: The one connection variable both backends have: user name -> backend name.
CONN_VAR_NAMES = {"weight": "g"}


def check_conn_var_name(connection: Any, name: str) -> None:
    """Refuse a connection variable other than the weight (``"weight"`` or ``"g"``)."""
    if name not in CONN_VAR_NAMES and name not in CONN_VAR_NAMES.values():
        raise ConfigurationError(
            f"variable of connection {connection.name!r} must be 'weight' ('g'); got "
            f"{name!r}. Connections hold only their weights: pass 'weight'."
        )


def check_batch_input(population: Any, num_examples: int, batch_size: int) -> int:
    """Return ``num_examples``, or refuse more examples than one batch holds."""
    if num_examples > batch_size:
        raise ConfigurationError(
            f"input of population {population.name!r} must hold at most batch_size="
            f"{batch_size} examples; got {num_examples}. Split the data into batches."
        )
    return num_examples


def readout_of(population: Any) -> Any:
    """Return the readout of ``population``'s neuron, or refuse a neuron without one."""
    readout = population.neuron.readout
    if readout is None:
        raise ConfigurationError(
            f"population {population.name!r} readout must be set to read it out; got "
            f"None. Give its neuron a readout, e.g. LeakyIntegrate(readout='sum_var')."
        )
    return readout


__all__ = [
    "CONN_VAR_NAMES",
    "backend_var_name",
    "check_batch_input",
    "check_conn_var_name",
    "connection_entry",
    "population_entry",
    "readout_of",
]

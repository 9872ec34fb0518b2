"""Checks of :class:`EPropCompiler`'s Deep R arguments, before anything is built.

``check_deep_r_args`` runs in the constructor (container types);
``resolve_deep_r`` runs in ``compile()``, where the network is known, and
turns every entry into a connection of that network or raises naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._network_objects import Connection, Population
from ..connectivity import FixedProbability, OneToOne
from ..errors import ConfigurationError
from ..network import Layer

_FIX = "Pass the Connection, or the Layer it leads into, e.g. deep_r_conns=[hidden]."


def check_deep_r_args(conns: Any, records: Any) -> tuple[list[Any], dict[Any, Any]]:
    """Return ``deep_r_conns`` as a list and ``deep_r_record_rewirings`` as a dict.

    Raises
    ------
    ConfigurationError
        For a string or non-iterable ``deep_r_conns``, or a non-mapping
        ``deep_r_record_rewirings``.
    """
    if isinstance(conns, (str, bytes, Connection, Population)) or not hasattr(conns, "__iter__"):
        raise ConfigurationError(
            f"EPropCompiler deep_r_conns must be a list of Connections or Layers; got "
            f"{type(conns).__name__} {conns!r}. Wrap it in a list, e.g. deep_r_conns=[hidden]."
        )
    if records is None:
        records = {}
    if not isinstance(records, Mapping):
        raise ConfigurationError(
            f"EPropCompiler deep_r_record_rewirings must be a dict {{connection or Layer: "
            f"key}}; got {type(records).__name__} {records!r}. Pass e.g. "
            f"deep_r_record_rewirings={{hidden: 'rewiring'}}."
        )
    return list(conns), dict(records)


def _connection(item: Any, where: str, network: Any) -> Any:
    """The connection of ``network`` that ``item`` (a Connection or Layer) names."""
    if isinstance(item, Layer):
        conn = item.connection
    elif isinstance(item, Connection):
        conn = item
    else:
        name = getattr(item, "name", None)
        what = f"{type(item).__name__} {name!r}" if name else f"{type(item).__name__} {item!r}"
        raise ConfigurationError(
            f"EPropCompiler {where} must be a Connection or a Layer (not an InputLayer or "
            f"Population, which have no incoming connection of their own); got {what}. {_FIX}"
        )
    if not any(conn is c for c in network.connections):
        raise ConfigurationError(
            f"EPropCompiler {where} must be a connection of the compiled network; got "
            f"{conn.name!r}, which is not one of {[c.name for c in network.connections]}. "
            f"Pass a connection (or Layer) created inside this network's 'with' block."
        )
    connectivity = conn.connectivity
    if not getattr(connectivity, "trainable", True):
        raise ConfigurationError(
            f"EPropCompiler {where} connection {conn.name!r} must be trainable; got "
            f"{type(connectivity).__name__}, whose fixed kernel no optimiser changes. "
            f"Rewire a connection with learned weights (FixedProbability)."
        )
    if not isinstance(connectivity, (FixedProbability, OneToOne)):
        raise ConfigurationError(
            f"EPropCompiler {where} connection {conn.name!r} must have sparse connectivity "
            f"(FixedProbability or OneToOne), as Deep R rewires a sparse synapse structure; "
            f"got {type(connectivity).__name__}. Use e.g. FixedProbability(0.1, weight)."
        )
    return conn


def resolve_deep_r(network: Any, conns: list[Any],
                   records: dict[Any, Any]) -> tuple[list[Any], dict[Any, Any]] | None:
    """Turn the Deep R arguments into connections of ``network``; None without Deep R.

    Returns
    -------
    (connections, records) or None
        The rewired connections in the network's order (duplicates merged,
        as mlGeNN keeps a set) and ``{connection: cb_data key}``.

    Raises
    ------
    ConfigurationError
        Naming the entry that is no connection (or Layer) of ``network``,
        has no trainable sparse connectivity, or is recorded without being
        rewired.
    """
    chosen = [_connection(item, f"deep_r_conns[{i}]", network) for i, item in enumerate(conns)]
    recorded: dict[Any, Any] = {}
    for item, key in records.items():
        conn = _connection(item, f"deep_r_record_rewirings key {getattr(item, 'name', item)!r}",
                           network)
        if not any(conn is c for c in chosen):
            raise ConfigurationError(
                f"EPropCompiler deep_r_record_rewirings connection {conn.name!r} must also be "
                f"in deep_r_conns; got deep_r_conns {[c.name for c in chosen]}. Add it to "
                f"deep_r_conns or drop it from deep_r_record_rewirings."
            )
        recorded[conn] = key
    if not chosen:
        return None
    ordered = [c for c in network.connections if any(c is d for d in chosen)]
    return ordered, recorded


__all__ = ["check_deep_r_args", "resolve_deep_r"]

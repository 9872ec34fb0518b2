"""State trees to JSON plus named arrays, and back.

A state tree is nested dicts, lists and tuples of numpy arrays, numpy
scalars, ``int``, ``float``, ``bool``, ``str`` and ``None``.  Arrays are moved
out into a flat ``{name: array}`` dict (names are their paths in the tree)
and replaced by tagged references; tuples and dicts with non-str keys are
tagged too, so decoding gives back the same types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigurationError

TAG = "__sh__"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.:#~-]+(/[A-Za-z0-9_.:#~-]+)*$")


def encode(node: Any, path: str, arrays: dict[str, np.ndarray], root: str = "") -> Any:
    """Return a JSON-able copy of ``node``, moving arrays into ``arrays``.

    ``path`` names ``node`` in messages; an array is stored under its path
    with the prefix ``root`` removed (``"conn0/weight"``), or under
    ``"_<n>"`` when the path holds characters unsafe in a zip member name.
    """
    if isinstance(node, (np.ndarray, np.generic)):
        array = np.asarray(node)
        if array.dtype.hasobject:
            raise ConfigurationError(
                f"checkpoint state {path!r} must be a numeric array; got dtype object. "
                f"Object arrays would need pickle, which spikehooks never loads."
            )
        base = path.removeprefix(root).lstrip("/") or "value"
        if not _SAFE_NAME.match(base):  # zip member names must stay plain
            base = f"_{len(arrays)}"
        name, n = base, 1
        while name in arrays:
            name, n = f"{base}~{n}", n + 1
        arrays[name] = array
        return {TAG: "array", "name": name, "scalar": isinstance(node, np.generic)}
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, Mapping):
        if all(isinstance(k, str) for k in node) and TAG not in node:
            return {k: encode(v, f"{path}/{k}", arrays, root) for k, v in node.items()}
        return {
            TAG: "dict",
            "items": [
                [
                    encode(k, f"{path}/#{i}k", arrays, root),
                    encode(v, f"{path}/#{i}", arrays, root),
                ]
                for i, (k, v) in enumerate(node.items())
            ],
        }
    if isinstance(node, (list, tuple)):
        items = [encode(v, f"{path}/{i}", arrays, root) for i, v in enumerate(node)]
        return items if isinstance(node, list) else {TAG: "tuple", "items": items}
    raise ConfigurationError(
        f"checkpoint state {path!r} must be an array, number, str, bool, None, dict, list "
        f"or tuple; got {type(node).__name__}. Convert it in state_dict()."
    )


def decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(node, list):
        return [decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node.get(TAG)
    if tag == "array":
        array = arrays[node["name"]]
        return array[()] if node["scalar"] else array
    if tag == "tuple":
        return tuple(decode(v, arrays) for v in node["items"])
    if tag == "dict":
        return {decode(k, arrays): decode(v, arrays) for k, v in node["items"]}
    return {k: decode(v, arrays) for k, v in node.items()}


def canonical(manifest: Mapping[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()

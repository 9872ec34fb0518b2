"""mlGeNN's ``serialisers.Numpy``: its name, its file API, and importing its checkpoints.

mlGeNN's Numpy serialiser writes one ``.npy`` file per array, named by its
keys joined with ``-``: a checkpoint of epoch 9 holds
``<path>/9-<connection name>-g.npy`` (weights, GeNN's variable ``g``), and
``compiled_net.save_connectivity((9,), ...)`` adds ``9-<name>-pre_ind.npy``
and ``9-<name>-post_ind.npy`` for sparse connectivity.  spikehooks writes its
own verified format (see :class:`NumpySerialiser`) and reads these files when
no spikehooks checkpoint is stored under the keys.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, ConfigurationError
from ._base import normalise_keys
from ._durable import makedirs, write_atomic
from .numpy_serialiser import MANIFEST_NAME, NumpySerialiser

_DEFAULT_CONN = re.compile(r"^Conn_Pop(\d+)_Pop(\d+)$")


class Numpy(NumpySerialiser):
    """mlGeNN's ``serialisers.Numpy(path)``: spikehooks checkpoints rooted at ``path``.

    ``Checkpoint(Numpy(path))`` writes the checkpoint of epoch ``e`` under
    the keys ``(e,)``, the folder ``path/e/``, in spikehooks' verified
    format; ``network.load((e,), Numpy(path))`` reads it, or, when that
    folder holds no spikehooks checkpoint, imports the ``.npy`` files
    mlGeNN's own Numpy serialiser wrote under ``path``
    (``e-<connection>-g.npy``).

    :meth:`serialise`, :meth:`deserialise` and :meth:`deserialise_all` are
    mlGeNN's single-array API on mlGeNN's file names (written atomically).

    Parameters
    ----------
    path : str or os.PathLike, default ""
        Folder the keys are relative to (``""``: the working directory).
    """

    def __repr__(self) -> str:
        return f"Numpy(path={str(self.path)!r})"

    def _title(self, keys: Any) -> str:
        return "-".join(normalise_keys(keys))

    def serialise(self, keys: Any, data: Any) -> Path:
        """Write one array as ``<path>/<k0>-<k1>-....npy``; return the file."""
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asanyarray(data), allow_pickle=False)
        makedirs(self.path)
        name = self._title(keys) + ".npy"
        write_atomic(self.path, name, buffer.getvalue())
        return self.path / name

    def deserialise(self, keys: Any) -> np.ndarray:
        """Read the array :meth:`serialise` wrote under ``keys``."""
        path = self.path / (self._title(keys) + ".npy")
        if not path.is_file():
            raise CheckpointError(
                f"mlGeNN array file {path} does not exist; check the keys {tuple(keys)!r} and "
                f"the serialiser path.",
                path=path,
            )
        return np.load(path, allow_pickle=False)

    def deserialise_all(self, keys: Any) -> dict[str, np.ndarray]:
        """Return ``{rest of the name: array}`` for every file ``<keys>-<rest>.npy``.

        ``deserialise_all((9, "Conn_Pop0_Pop1"))`` gives ``{"g": ...}``, as
        in mlGeNN; with ``(9,)`` the rest keeps its ``-``
        (``"Conn_Pop0_Pop1-g"``).
        """
        prefix = self._title(keys) + "-" if normalise_keys(keys) else ""
        if not self.path.is_dir():
            return {}
        return {
            entry.name[len(prefix):-4]: np.load(entry, allow_pickle=False)
            for entry in sorted(self.path.iterdir())
            if entry.name.startswith(prefix) and entry.name.endswith(".npy") and entry.is_file()
        }


def has_mlgenn_files(serialiser: Any, keys: Any) -> bool:
    """Return whether ``keys`` name mlGeNN ``.npy`` files and no spikehooks checkpoint."""
    if not isinstance(serialiser, NumpySerialiser):
        return False
    if (serialiser.folder(keys) / MANIFEST_NAME).exists():
        return False
    return bool(Numpy(serialiser.path).deserialise_all(keys))


def _match(network: Any, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Map mlGeNN connection names to the network's connections.

    Exact names first; then ``Conn_<source>_<target>`` with the network's
    population names; then mlGeNN's default ``Conn_Pop<i>_Pop<j>``, whose
    population numbers count creations, so they map in creation order onto
    the network's populations (the lowest number onto the first population).
    """
    by_name = {c.name: c for c in network.connections}
    by_ends = {(c.source.name, c.target.name): c for c in network.connections}
    pops = list(network.populations)
    numbered = [int(n) for name in names if (m := _DEFAULT_CONN.match(name)) for n in m.groups()]
    offset = min(numbered, default=0)
    matched, unmatched = {}, []
    for name in names:
        conn = by_name.get(name)
        if conn is None and name.startswith("Conn_"):
            rest = name[len("Conn_"):]
            for cut in range(1, len(rest)):
                if rest[cut] == "_" and (rest[:cut], rest[cut + 1:]) in by_ends:
                    conn = by_ends[(rest[:cut], rest[cut + 1:])]
                    break
        if conn is None and (m := _DEFAULT_CONN.match(name)):
            i, j = (int(n) - offset for n in m.groups())
            if i < len(pops) and j < len(pops):
                conn = by_ends.get((pops[i].name, pops[j].name))
        if conn is None:
            unmatched.append(name)
        else:
            matched[name] = conn
    return matched, unmatched


def _weights(conn: Any, name: str, arrays: dict[str, np.ndarray],
             where: str) -> tuple[np.ndarray, np.ndarray | None]:
    from ..connectivity import FixedProbability, OneToOne

    n_pre, n_post = conn.source.num_neurons, conn.target.num_neurons
    if "d" in arrays:
        raise ConfigurationError(
            f"mlGeNN checkpoint connection {name!r} holds learnt delays ({where}-d.npy); "
            f"spikehooks does not load delays. Evaluate that network with mlGeNN, or "
            f"retrain without delay learning."
        )
    if "g" not in arrays:
        raise ConfigurationError(
            f"mlGeNN checkpoint connection {name!r} must have a weight file {where}-g.npy; got "
            f"only {sorted(arrays)}. Save the checkpoint with mlGeNN's Checkpoint."
        )
    g = np.asarray(arrays["g"], dtype=np.float32)
    if "pre_ind" in arrays and "post_ind" in arrays:
        pre = np.asarray(arrays["pre_ind"], dtype=np.int64)
        post = np.asarray(arrays["post_ind"], dtype=np.int64)
        if not (len(pre) == len(post) == g.size) or (len(pre) and (
                pre.max() >= n_pre or post.max() >= n_post or min(pre.min(), post.min()) < 0)):
            raise ConfigurationError(
                f"mlGeNN checkpoint connection {name!r} must have {g.size} pre_ind and post_ind "
                f"in [0, {n_pre}) x [0, {n_post}); got {len(pre)} and {len(post)}. Save "
                f"them with compiled_net.save_connectivity of the same network."
            )
        weight = np.zeros((n_pre, n_post), dtype=np.float32)
        weight[pre, post] = g.ravel()
        mask = np.zeros((n_pre, n_post), dtype=bool)
        mask[pre, post] = True
        return weight, mask
    if isinstance(conn.connectivity, OneToOne) and g.size == n_pre:
        weight = np.zeros((n_pre, n_post), dtype=np.float32)
        np.fill_diagonal(weight, g.ravel())
        return weight, None
    if g.size == n_pre * n_post and not isinstance(conn.connectivity, FixedProbability):
        return g.reshape(n_pre, n_post), None
    raise ConfigurationError(
        f"mlGeNN checkpoint connection {name!r} weights {where}-g.npy must hold "
        f"{n_pre} x {n_post} values for {type(conn.connectivity).__name__}; got shape "
        f"{g.shape}. Sparse connectivity also needs {where}-pre_ind.npy and -post_ind.npy "
        f"(mlGeNN's compiled_net.save_connectivity)."
    )


def import_mlgenn(network: Any, keys: Any,
                  serialiser: NumpySerialiser) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read mlGeNN Numpy-serialiser files under ``keys`` for ``network``.

    Parameters
    ----------
    network : Network
        The spikehooks network equivalent to the one mlGeNN saved.
    keys : tuple
        mlGeNN's keys, e.g. ``(9,)`` for the checkpoint of epoch 9.
    serialiser : NumpySerialiser
        Its ``path`` is the folder of the files.

    Returns
    -------
    learnable : dict of str to numpy.ndarray
        ``"<connection name>/weight"`` -> float32 ``(num_pre, num_post)``.
    masks : dict of str to numpy.ndarray
        Connection name -> bool ``(num_pre, num_post)`` mask of existing
        synapses, for sparse connectivity saved with its indices.

    Raises
    ------
    ConfigurationError
        A file names a connection or population the network does not have
        (the message lists the names available), or holds what spikehooks
        cannot load with the same meaning (delays, mis-sized arrays).
    """
    files = Numpy(serialiser.path).deserialise_all(keys)
    title = "-".join(normalise_keys(keys))
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for rest, array in files.items():
        owner, _, var = rest.rpartition("-")
        grouped.setdefault(owner or rest, {})[var] = array
    pop_names = {p.name for p in network.populations}
    neuron_vars = sorted(n for n in grouped if n in pop_names)
    if neuron_vars:
        raise ConfigurationError(
            f"mlGeNN checkpoint under {title!r} holds neuron variables of {neuron_vars} "
            f"({sorted(grouped[neuron_vars[0]])}); spikehooks loads connection weights only. "
            f"Remove those files to load the weights alone."
        )
    matched, unmatched = _match(network, sorted(grouped))
    if unmatched:
        raise ConfigurationError(
            f"mlGeNN checkpoint connection name must match a connection of the network; got "
            f"{unmatched} (files {title}-<name>-<var>.npy under "
            f"{os.fspath(serialiser.path) or '.'!r}); connections available: "
            f"{[c.name for c in network.connections]} between populations "
            f"{[p.name for p in network.populations]}. Name the connection as mlGeNN did "
            f"(Connection(..., name=...)) or rename the files."
        )
    learnable, masks = {}, {}
    for name, conn in matched.items():
        weight, mask = _weights(conn, name, grouped[name], f"{title}-{name}")
        learnable[f"{conn.name}/weight"] = weight
        if mask is not None:
            masks[conn.name] = mask
    return learnable, masks


__all__ = ["Numpy", "has_mlgenn_files", "import_mlgenn"]

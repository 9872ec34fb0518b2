"""Serialisers: writing and reading checkpoints of learnable and training state.

A serialiser stores a *state tree* (nested dicts, lists and tuples of numpy
arrays, numpy scalars, ``int``, ``float``, ``bool``, ``str`` and ``None``)
under a tuple of *keys*, as mlGeNN's ``compiled_net.save(keys)`` and
``network.load(keys)`` do.  :class:`NumpySerialiser` (registered as
``"numpy"``) maps keys to a folder, ``("checkpoints", 5)`` to
``checkpoints/5/``, and writes into it:

- one ``<group>-<hash>.npz`` per top-level entry of the tree that holds
  arrays (``learnable-1f2e....npz`` holds the weights, keyed
  ``"<connection name>/<var>"``); plain numpy files, ``numpy.load`` opens
  them alone;
- ``manifest.json``, written last: format version, keys, every array's
  shape and dtype, the SHA-256 of every file, and the tree's non-array
  values.

Every file is written atomically (a temporary file in the same folder,
flushed and fsynced, then ``os.replace``, then the folder fsynced) and the
manifest only after the files it names, so a process killed at any moment of
a save leaves the previous checkpoint under those keys intact.  Reading
checks the manifest, every hash, shape and dtype, and loads arrays with
``allow_pickle=False``; anything amiss raises :class:`CheckpointError`
naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._mlgenn_missing import module_getattr as _mlgenn_getattr
from ..errors import CheckpointError, CheckpointFormatError, ConfigurationError, NotCompiledError
from ..plugins import registry
from ._base import Serialiser, normalise_keys
from .mlgenn_numpy import Numpy, has_mlgenn_files, import_mlgenn
from .numpy_serialiser import FORMAT_VERSION, MANIFEST_NAME, NumpySerialiser

#: Last key of the connectivity saved beside a checkpoint by :func:`save_connectivity`.
_CONNECTIVITY = "connectivity"


def _serialiser(spec: Any) -> Serialiser:
    return registry.create("serialisers", spec, expected=Serialiser)


def _backend_of(compiled_network: Any, action: str) -> Any:
    backend = getattr(compiled_network, "backend", None)
    if backend is None:
        raise NotCompiledError(
            f"{type(compiled_network).__name__} must be loaded to {action} its learnable "
            f"state; got a compiled network outside its with-block. Call it inside "
            f"`with compiled_net:`."
        )
    return backend


def save(compiled_network: Any, keys: Any = (), serialiser: Any = "numpy") -> Path:
    """Write the learnable state of a loaded compiled network under ``keys``.

    The engine behind ``compiled_net.save(keys, serialiser)``.

    Parameters
    ----------
    compiled_network : CompiledNetwork
        Loaded (inside ``with compiled_net:``).
    keys : tuple
        E.g. ``("checkpoints", 5)``: the numpy serialiser writes
        ``checkpoints/5/``.
    serialiser : Serialiser, str or (str, dict), default "numpy"
        Resolved through the ``spikehooks.serialisers`` entry points.

    Returns
    -------
    pathlib.Path
        Where the checkpoint was written.
    """
    ser = _serialiser(serialiser)
    backend = _backend_of(compiled_network, "save")
    # A trainer with learnable state beyond the weights (e-prop's output biases) adds it.
    own = getattr(compiled_network, "learnable_state", None)
    state = own() if callable(own) else backend.get_learnable_state()
    return ser.save(keys, {"learnable": state})


def save_connectivity(compiled_network: Any, keys: Any = (), serialiser: Any = "numpy") -> Any:
    """Write the synapses of every sparse connection under ``keys + ("connectivity",)``.

    The engine behind mlGeNN's ``compiled_net.save_connectivity(keys,
    serialiser)``.  Each sparse connection (``FixedProbability``,
    ``OneToOne``) is stored as ``{"pre_ind": int32 (n,), "post_ind": int32
    (n,)}``, row-major like GeNN's; :func:`load` of the same ``keys`` into a
    network then rebuilds exactly these synapses instead of redrawing them.

    Returns
    -------
    pathlib.Path or None
        Where it was written; None when the network has no sparse connection.
    """
    backend = _backend_of(compiled_network, "save the connectivity of")
    get_mask = getattr(backend, "get_weight_mask", None)
    if get_mask is None:
        raise ConfigurationError(
            f"{type(backend).__name__} must offer get_weight_mask to save connectivity; got a "
            f"backend without it. Save connectivity from the numpy backend."
        )
    sparse = {}
    for conn in compiled_network.network.connections:
        mask = get_mask(conn)
        if mask is not None:
            pre, post = np.nonzero(mask)
            sparse[conn.name] = {"pre_ind": pre.astype(np.int32), "post_ind": post.astype(np.int32)}
    if not sparse:
        return None
    return _serialiser(serialiser).save((*normalise_keys(keys), _CONNECTIVITY),
                                        {"connectivity": sparse})


def _saved_masks(ser: Serialiser, keys: Any) -> dict[str, np.ndarray] | None:
    """Return the masks :func:`save_connectivity` stored beside ``keys``, if any."""
    if not isinstance(ser, NumpySerialiser) or not normalise_keys(keys):
        return None
    sub = (*normalise_keys(keys), _CONNECTIVITY)
    if not (ser.folder(sub) / MANIFEST_NAME).exists():
        return None
    return {name: ind for name, ind in ser.load(sub)["connectivity"].items()}


def load_learnable(keys: Any = (), serialiser: Any = "numpy") -> dict[str, np.ndarray]:
    """Return the verified learnable arrays stored under ``keys``.

    Returns
    -------
    dict of str to numpy.ndarray
        Keyed ``"<connection name>/<var>"``, as
        ``Backend.get_learnable_state`` returns them.
    """
    ser = _serialiser(serialiser)
    state = ser.load(keys)
    learnable = state.get("learnable")
    if not isinstance(learnable, dict):
        path = getattr(ser, "folder", lambda k: Path(*normalise_keys(k)))(keys)
        raise CheckpointError(
            f"checkpoint {path} must hold learnable state; got entries {sorted(state)}. "
            f"Save it with compiled_net.save(keys) or the Checkpoint callback.",
            path=path,
        )
    return learnable


def _load_into_network(network: Any, learnable: dict[str, np.ndarray],
                       masks: dict[str, np.ndarray] | None = None) -> None:
    """Replace the weights of ``network``'s connectivity (all checked before any is set)."""
    from ..connectivity import FixedProbability, OneToOne, TiedConnectivity
    from ..initializers import check_shape

    updates = []
    for key, array in learnable.items():
        name, _, var = key.rpartition("/")
        if var == "bias":
            # Trained output biases (e-prop's train_output_bias), as mlGeNN loads "Bias".
            pop = network.get_population(name)
            check_shape(array, (pop.num_neurons,), f"learnable state {key!r}")
            updates.append((pop.neuron, "bias", array))
            continue
        if var != "weight":
            raise ConfigurationError(
                f"learnable state key must be '<connection name>/weight' or "
                f"'<population name>/bias'; got {key!r}. Load it into the compiled network "
                f"instead."
            )
        conn = network.get_connection(name)
        connectivity = conn.connectivity
        shape: tuple[int, ...] = (conn.source.num_neurons, conn.target.num_neurons)
        if isinstance(connectivity, TiedConnectivity):
            shape = connectivity.kernel_shape
        elif isinstance(connectivity, OneToOne):
            array, shape = np.diagonal(array).copy() if array.ndim == 2 else array, shape[:1]
        check_shape(array, shape, f"learnable state {key!r}")
        updates.append((connectivity, "weight", array))
    for target, attribute, array in updates:
        setattr(target, attribute, array)
    for name, mask in (masks or {}).items():
        connectivity = network.get_connection(name).connectivity
        if isinstance(connectivity, FixedProbability):
            connectivity.mask = mask


def load(network_or_compiled: Any, keys: Any = (), serialiser: Any = "numpy") -> None:
    """Load learnable state written by :func:`save` (or a checkpoint) under ``keys``.

    The engine behind ``network.load(keys, serialiser)`` and
    ``compiled_net.load(keys, serialiser)``.

    Parameters
    ----------
    network_or_compiled : Network or CompiledNetwork
        When ``keys`` hold no spikehooks checkpoint but the ``.npy`` files
        of mlGeNN's Numpy serialiser, those are imported (see
        :func:`spikehooks.serialisers.mlgenn_numpy.import_mlgenn`).
        A compiled network receives the arrays at once through
        ``backend.set_learnable_state``.  A network (before compiling)
        gets them as the ``weight`` of each connection's connectivity, as
        in mlGeNN, so the networks compiled from it start from them
        (``OneToOne`` takes the diagonal; ``FixedProbability`` redraws its
        mask from the compiler's ``rng_seed``, so use the same seed).
    keys, serialiser
        As for :func:`save`.
    """
    ser = _serialiser(serialiser)
    masks: dict[str, np.ndarray] = {}
    if has_mlgenn_files(ser, keys):
        network = getattr(network_or_compiled, "network", network_or_compiled)
        learnable, masks = import_mlgenn(network, keys, ser)  # type: ignore[arg-type]
    else:
        learnable = load_learnable(keys, ser)
        network = getattr(network_or_compiled, "network", network_or_compiled)
        for name, ind in (_saved_masks(ser, keys) or {}).items():
            conn = network.get_connection(name)
            mask = np.zeros((conn.source.num_neurons, conn.target.num_neurons), dtype=bool)
            mask[ind["pre_ind"], ind["post_ind"]] = True
            masks[name] = mask
    backend = getattr(network_or_compiled, "backend", None)
    if backend is not None:
        current: Any = getattr(backend, "get_weight_mask", lambda conn: None)
        changed = [n for n, m in masks.items()
                   if not np.array_equal(current(network.get_connection(n)), m)]
        if changed:
            masks = {n: masks[n] for n in changed}
            raise ConfigurationError(
                f"mlGeNN sparse connectivity of {sorted(masks)} must be loaded before "
                f"compiling; got a compiled network. Call network.load(keys, serialiser), "
                f"then compile."
            )
        own = getattr(network_or_compiled, "set_learnable_state", None)
        (own if callable(own) else backend.set_learnable_state)(learnable)
    elif callable(getattr(network_or_compiled, "get_connection", None)):
        _load_into_network(network_or_compiled, learnable, masks)
    else:
        raise NotCompiledError(
            f"{type(network_or_compiled).__name__} must be a Network or a compiled network "
            f"to load learnable state into; got neither. Pass the network or compiled_net."
        )


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "CheckpointError",
    "CheckpointFormatError",
    "Numpy",
    "NumpySerialiser",
    "Serialiser",
    "import_mlgenn",
    "load",
    "load_learnable",
    "save",
    "save_connectivity",
]

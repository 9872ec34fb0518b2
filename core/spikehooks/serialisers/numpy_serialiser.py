"""The ``"numpy"`` serialiser: plain ``.npz`` files plus a verified JSON manifest."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, CheckpointFormatError, ConfigurationError
from ._base import Serialiser, normalise_keys
from ._durable import fsync_dir, makedirs, write_atomic
from ._tree import TAG, canonical, decode, encode

#: Version of the on-disk layout written by :class:`NumpySerialiser`.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
_FORMAT = "spikehooks-checkpoint"
_DATA_FILE = re.compile(r"^[A-Za-z0-9_]+-[0-9a-f]{16}\.npz$")


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Return an uncompressed ``.npz`` holding ``arrays``, as ``numpy.savez`` writes it.

    Written here rather than by ``savez`` so that any array name works
    (``savez`` reserves ``file`` and ``allow_pickle``) and pickling is off.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _newer_format(manifest: Any) -> int | None:
    """The version of a manifest written by a newer spikehooks, else None."""
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        return None
    version = manifest.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return version
    return None


def _newer_format_error(path: Path, version: int, action: str) -> CheckpointFormatError:
    return CheckpointFormatError(
        f"checkpoint {path} must be {_FORMAT} version {FORMAT_VERSION} or older to {action}; got "
        f"version {version}, written by a newer spikehooks. It is left untouched: read it with "
        f"that spikehooks version, or use another folder.",
        path=path, version=version,
    )


class NumpySerialiser(Serialiser):
    """Checkpoints as plain ``.npz`` files plus a verified JSON manifest.

    Parameters
    ----------
    path : str or os.PathLike, default ""
        Folder the keys are relative to (``""``: the working directory).

    Notes
    -----
    One writer per folder at a time.  Saving again under the same keys
    replaces the checkpoint atomically: the new manifest takes over in one
    ``os.replace``, and the previous generation's files are removed after.
    """

    name = "numpy"

    def __init__(self, path: str | os.PathLike[str] = ""):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"NumpySerialiser(path={str(self.path)!r})"

    def folder(self, keys: Any) -> Path:
        """Return the folder ``keys`` map to: ``path/key0/key1/...``."""
        return self.path.joinpath(*normalise_keys(keys))

    # -------------------------------------------------------------- writing
    def save(self, keys: Any, state: Mapping[str, Any]) -> Path:
        """Write ``state`` under ``keys``; return the checkpoint folder.

        Parameters
        ----------
        keys : tuple
            E.g. ``("checkpoints", 5)`` for ``checkpoints/5/``.
        state : dict of str to state tree
            Top-level entries holding arrays become one ``.npz`` file each.
        """
        keys = normalise_keys(keys)
        if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
            raise ConfigurationError(
                f"checkpoint state must be a dict with str keys; got {type(state).__name__}. "
                f"Pass e.g. {{'learnable': backend.get_learnable_state()}}."
            )
        tree: dict[str, Any] = {}
        groups: dict[str, tuple[str, dict[str, np.ndarray]]] = {}
        for index, (top, value) in enumerate(state.items()):
            arrays: dict[str, np.ndarray] = {}
            tree[top] = encode(value, top, arrays, root=top)
            if arrays:
                group = re.sub(r"[^A-Za-z0-9_]", "_", top) or f"group{index}"
                while group in groups:
                    group += "_"
                groups[group] = (top, arrays)

        folder = self.folder(keys)
        self._refuse_newer(folder, "overwrite it")
        makedirs(folder)
        files: dict[str, Any] = {}
        for group, (top, arrays) in groups.items():
            data = _npz_bytes(arrays)
            digest = hashlib.sha256(data).hexdigest()
            name = f"{group}-{digest[:16]}.npz"
            write_atomic(folder, name, data)
            files[name] = {
                "sha256": digest,
                "size": len(data),
                "arrays": {
                    k: {"shape": list(a.shape), "dtype": a.dtype.str} for k, a in arrays.items()
                },
            }
            tree[top] = {TAG: "group", "file": name, "tree": tree[top]}
        fsync_dir(folder)

        manifest: dict[str, Any] = {
            "format": _FORMAT,
            "format_version": FORMAT_VERSION,
            "serialiser": self.name,
            "keys": list(keys),
            "files": files,
            "tree": tree,
        }
        manifest["manifest_sha256"] = hashlib.sha256(canonical(manifest)).hexdigest()
        write_atomic(folder, MANIFEST_NAME, json.dumps(manifest, indent=1).encode())
        fsync_dir(folder)
        self._remove_stale(folder, set(files))
        return folder

    @staticmethod
    def _refuse_newer(folder: Path, action: str) -> None:
        """Raise CheckpointFormatError when ``folder`` holds a newer-format checkpoint."""
        try:
            manifest = json.loads((folder / MANIFEST_NAME).read_bytes())
        except (OSError, ValueError):
            return  # none, or damaged: an older spikehooks' concern, replaced as before
        version = _newer_format(manifest)
        if version is not None:
            raise _newer_format_error(folder / MANIFEST_NAME, version, action)

    @staticmethod
    def _remove_stale(folder: Path, keep: set[str]) -> None:
        """Remove data files of older generations and leftovers of killed saves."""
        for entry in folder.iterdir():
            stale = (_DATA_FILE.match(entry.name) and entry.name not in keep) or (
                entry.name.startswith(".") and entry.name.endswith(".tmp")
            )
            if stale and entry.is_file():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()

    # -------------------------------------------------------------- reading
    def read_manifest(self, keys: Any) -> dict[str, Any]:
        """Return the parsed manifest of the checkpoint under ``keys``, self-hash checked."""
        path = self.folder(keys) / MANIFEST_NAME
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(
                f"checkpoint manifest {path} does not exist; the checkpoint was never "
                f"completed (a save interrupted before its manifest) or the keys are wrong.",
                path=path,
            ) from None
        try:
            manifest = json.loads(raw)
            # A newer format may lay its manifest out differently: say so before parsing on.
            version = _newer_format(manifest)
            if version is not None:
                raise _newer_format_error(path, version, "read it")
            claimed = manifest.pop("manifest_sha256")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CheckpointError(
                f"checkpoint manifest {path} is not a valid manifest ({exc}); refusing it.",
                path=path,
            ) from None
        if manifest.get("format") != _FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"checkpoint manifest {path} must be {_FORMAT} version {FORMAT_VERSION}; got "
                f"{manifest.get('format')!r} version {manifest.get('format_version')!r}.",
                path=path,
            )
        if hashlib.sha256(canonical(manifest)).hexdigest() != claimed:
            raise CheckpointError(
                f"checkpoint manifest {path} does not match its own SHA-256; it was "
                f"modified or damaged. Refusing it.",
                path=path,
            )
        return manifest

    def _read_file(self, folder: Path, name: str, entry: Mapping[str, Any]) -> dict:
        path = folder / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(
                f"checkpoint file {path} named in the manifest is missing.", path=path
            ) from None
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise CheckpointError(
                f"checkpoint file {path} does not match the SHA-256 in its manifest "
                f"(truncated or modified); refusing it.",
                path=path,
            )
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError) as exc:
            raise CheckpointError(
                f"checkpoint file {path} is not a readable npz file ({exc}).", path=path
            ) from None
        for key, meta in entry["arrays"].items():
            array = arrays.get(key)
            if array is None or list(array.shape) != meta["shape"] or (
                array.dtype.str != meta["dtype"]
            ):
                got = None if array is None else (array.shape, array.dtype.str)
                raise CheckpointError(
                    f"checkpoint file {path} array {key!r} must have shape "
                    f"{tuple(meta['shape'])} and dtype {meta['dtype']}; got {got}.",
                    path=path,
                )
        return arrays

    def load(self, keys: Any) -> dict[str, Any]:
        """Return the state tree stored under ``keys``, every file verified.

        Raises
        ------
        CheckpointError
            No manifest, a manifest or file that fails its hash, a missing
            file, or an array of the wrong shape or dtype; ``path`` names it.
        """
        folder = self.folder(keys)
        manifest = self.read_manifest(keys)
        try:
            arrays = {
                name: self._read_file(folder, name, entry)
                for name, entry in manifest["files"].items()
            }
            state = {}
            for top, node in manifest["tree"].items():
                if isinstance(node, dict) and node.get(TAG) == "group":
                    state[top] = decode(node["tree"], arrays[node["file"]])
                else:
                    state[top] = decode(node, {})
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            path = folder / MANIFEST_NAME
            raise CheckpointError(
                f"checkpoint manifest {path} is malformed ({type(exc).__name__}: {exc}); "
                f"refusing it.",
                path=path,
            ) from None
        return state

    # ------------------------------------------------------------ listing
    def list_keys(self, prefix: Any = ()) -> list[str]:
        """Return the sorted names of the folders directly under ``prefix``."""
        folder = self.folder(prefix) if prefix != () else self.path
        if not folder.is_dir():
            return []
        return sorted(e.name for e in folder.iterdir() if e.is_dir() and e.name[0] != ".")

    def delete(self, keys: Any) -> None:
        """Remove the checkpoint under ``keys``: the manifest first, then its files."""
        folder = self.folder(keys)
        self._refuse_newer(folder, "delete it")
        manifest = folder / MANIFEST_NAME
        with contextlib.suppress(FileNotFoundError):
            manifest.unlink()
            fsync_dir(folder)
        if folder.is_dir():
            self._remove_stale(folder, set())
            with contextlib.suppress(OSError):  # not empty: the user's own files stay
                folder.rmdir()


__all__ = ["FORMAT_VERSION", "MANIFEST_NAME", "NumpySerialiser"]

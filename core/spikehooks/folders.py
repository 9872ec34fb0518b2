"""Folders spikehooks writes: each is owned by one run and written by one writer at a time.

Every component that writes a folder (the ``Checkpoint`` callback's folder, a
recorder's ``to=`` folder, a future logger's folder) claims it with one
:class:`FolderClaim` before the run starts (in ``set_params``):

- ``.spikehooks-owner.json`` in the folder records the run identity (a
  random id), what writes the folder, when, and from which process and host;
  it is written just before the claim's first file, so a run refused before
  it started leaves the folder as it was;
- a folder that holds anything (another run's files, the user's own files)
  is refused unless the writer was given ``overwrite=True`` or continues the
  run that owns it (a resumed training run, or the same callback object run
  again);
- a second writer is refused: in the same process by a registry of the
  claims held, in another process by an OS-level lock on
  ``.spikehooks.lock`` (the ``filelock`` package; the operating system drops
  the lock when a process dies, however it dies, so a killed run never
  blocks its successor).  The empty lock file stays after the run: deleting
  a lock file another process may have just opened would let two writers in.

The claims made in the ``set_params`` of a :class:`~spikehooks.CallbackList`
are released when the run ends, however it ends (the runtime calls
``CallbackList.close``), or when a ``set_params`` refuses the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import socket
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import FolderError, MissingDependencyError

#: The file that records the run owning a folder.
OWNER_FILE = ".spikehooks-owner.json"
#: The file locked (by the OS) while a writer holds the folder.
LOCK_FILE = ".spikehooks.lock"
_FORMAT = "spikehooks-folder"
_VERSION = 1

# Real path of every folder held in this process -> its claim.
_held: dict[str, weakref.ref[FolderClaim]] = {}
# The list collecting the claims made during one CallbackList's set_params.
_scope: contextvars.ContextVar[list[FolderClaim] | None] = contextvars.ContextVar(
    "spikehooks_folder_scope", default=None
)


def read_owner(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Return the owner record of ``folder`` (``None`` when it has none).

    Returns
    -------
    dict or None
        ``{"run_id", "kind", "writer", "created", "pid", "host", ...}``; an
        owner file that cannot be parsed gives ``{"damaged": "<reason>"}``.
    """
    path = Path(folder) / OWNER_FILE
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"damaged": f"{type(exc).__name__}: {exc}"}
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        return {"damaged": f"not a {_FORMAT} record"}
    return record


def describe_owner(owner: dict[str, Any] | None) -> str:
    """One line naming the run owning a folder, for messages."""
    if owner is None:
        return "no spikehooks run (no owner file)"
    if "damaged" in owner:
        return f"an unreadable owner file ({owner['damaged']})"
    return (f"run {owner.get('run_id')} of {owner.get('writer')} (started "
            f"{owner.get('created')}, pid {owner.get('pid')} on {owner.get('host')})")


def foreign_entries(folder: Path) -> list[str]:
    """Names in ``folder`` other than the ownership files, sorted."""
    if not folder.is_dir():
        return []
    return sorted(e.name for e in folder.iterdir() if e.name not in (OWNER_FILE, LOCK_FILE))


def _file_lock(path: Path) -> Any:
    try:
        import filelock
    except ImportError:
        raise MissingDependencyError(
            "spikehooks folder locking needs the 'filelock' package; it is not installed. "
            "Install it with: python -m pip install filelock (the checkpoint and recorders "
            "plugins depend on it)."
        ) from None
    return filelock.FileLock(os.fspath(path), thread_local=False), filelock.Timeout


@contextlib.contextmanager
def collect_claims(into: list[FolderClaim]) -> Iterator[None]:
    """Append to ``into`` every claim acquired inside the block (used around set_params)."""
    token = _scope.set(into)
    try:
        yield
    finally:
        _scope.reset(token)


def release_all(claims: list[FolderClaim]) -> None:
    """Release every claim of ``claims`` and empty the list."""
    while claims:
        claims.pop().release()


class FolderClaim:
    """One writer's claim on one folder.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (created when claimed).
    kind : str
        What is written there, e.g. ``"checkpoints"`` or ``"recording"``.
    writer : str
        Names the writer in messages and in the owner file, e.g.
        ``"Checkpoint(path='ckpt')"``.
    fixes : str
        The ways out offered when the folder is refused, e.g. ``"Pass
        overwrite=True to replace it, or another to= folder."``.

    Attributes
    ----------
    run_id : str or None
        The run identity this writer writes under (set by :meth:`acquire`,
        kept across runs of the same object).
    replaced_run : str or None
        The run whose folder ``overwrite=True`` took over, if any.
    """

    def __init__(self, folder: str | os.PathLike[str], *, kind: str, writer: str, fixes: str):
        self.folder = Path(folder)
        self.kind = kind
        self.writer = writer
        self.fixes = fixes
        self.run_id: str | None = None
        self.replaced_run: str | None = None
        self._lock: Any = None
        self._marked = False
        self._key: str | None = None

    @property
    def held(self) -> bool:
        """True between :meth:`acquire` and :meth:`release`."""
        return self._lock is not None

    def _error(self, got: str, owner: dict[str, Any] | None,
               fix: str | None = None) -> FolderError:
        return FolderError(
            f"{self.writer} folder must be empty or owned by this run; got {str(self.folder)!r} "
            f"{got}. {self.fixes if fix is None else fix}",
            path=self.folder, owner=owner,
        )

    def acquire(self, *, overwrite: bool = False, resume: bool = False) -> None:
        """Claim the folder for this writer's run, or raise :class:`FolderError`.

        Parameters
        ----------
        overwrite : bool
            Take over a folder holding anything (another run's files, the
            user's own files); the writer then replaces what it writes there.
        resume : bool
            Continue the run that owns the folder (its run identity is adopted).

        Raises
        ------
        FolderError
            The folder is a file, is held by another writer (in this process
            or another), or holds files of another run or of the user.
        """
        self.release()
        if self.folder.exists() and not self.folder.is_dir():
            raise self._error("which is a file, not a folder", None)
        if self.folder.is_dir():
            # Refuse a foreign folder before creating anything in it (the lock file);
            # decided again below, under the lock, which is what counts.
            self._decide(overwrite, resume)
        # Imported here: the durable writes need numpy's package, and `import spikehooks`
        # (which imports this module through CallbackList) stays free of numpy.
        from .serialisers._durable import makedirs

        makedirs(self.folder)
        key = os.path.normcase(os.path.realpath(self.folder))
        other = _held.get(key)
        holder = None if other is None else other()
        if holder is not None and holder is not self and holder.held:
            raise self._error(f"which {holder.writer} is writing in this process", None,
                              "Give each writer its own folder.")
        lock, timeout = _file_lock(self.folder / LOCK_FILE)
        try:
            lock.acquire(timeout=0)
        except timeout:
            owner = read_owner(self.folder)
            raise self._error(f"which another process is writing (it holds {LOCK_FILE}; the "
                              f"folder is owned by {describe_owner(owner)})", owner,
                              "Wait until that run ends, or use another folder.") from None
        try:
            self._decide(overwrite, resume)
        except BaseException:
            lock.release()
            raise
        self._lock, self._key, self._marked = lock, key, False
        _held[key] = weakref.ref(self)
        scope = _scope.get()
        if scope is not None:
            scope.append(self)

    def _decide(self, overwrite: bool, resume: bool) -> None:
        owner = read_owner(self.folder)
        entries = foreign_entries(self.folder)
        shown = ", ".join(repr(e) for e in entries[:3]) + (", ..." if len(entries) > 3 else "")
        holding = f"holding {len(entries)} entries ({shown}) of {describe_owner(owner)}"
        self.replaced_run = None
        if owner is not None and "damaged" not in owner:
            if owner.get("run_id") == self.run_id or resume:
                self.run_id = str(owner.get("run_id"))
                return
            if not overwrite:
                raise self._error(holding, owner)
            self.replaced_run = str(owner.get("run_id"))
        elif entries and not (overwrite or resume):
            raise self._error(holding, owner)
        if self.run_id is None or overwrite:
            self.run_id = uuid.uuid4().hex

    def mark(self) -> None:
        """Record this run as the folder's owner; call before the claim's first write."""
        if self._marked:
            return
        from .serialisers._durable import fsync_dir, write_atomic

        record = {
            "format": _FORMAT, "version": _VERSION, "run_id": self.run_id, "kind": self.kind,
            "writer": self.writer, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "pid": os.getpid(), "host": socket.gethostname(),
        }
        write_atomic(self.folder, OWNER_FILE, json.dumps(record, indent=1).encode())
        fsync_dir(self.folder)
        self._marked = True

    def release(self) -> None:
        """Give the folder up (idempotent); the run identity is kept for a later run."""
        lock, self._lock = self._lock, None
        if self._key is not None and _held.get(self._key) is not None:
            if _held[self._key]() in (self, None):
                del _held[self._key]
        self._key = None
        if lock is not None:
            lock.release()

    def __repr__(self) -> str:
        state = "held" if self.held else "released"
        return f"FolderClaim({str(self.folder)!r}, {self.kind}, run={self.run_id}, {state})"


__all__ = [
    "LOCK_FILE",
    "OWNER_FILE",
    "FolderClaim",
    "collect_claims",
    "describe_owner",
    "foreign_entries",
    "read_owner",
    "release_all",
]

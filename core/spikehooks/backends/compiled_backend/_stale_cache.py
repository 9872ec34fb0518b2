"""Clear numba's kernel cache when spikehooks' sources change.

numba reuses a cached kernel while the file that defines it keeps its
modification time and size; it does not look at the helpers the kernel
inlines or calls from other modules (a limitation numba documents). Our
step loop inlines helpers from half a dozen modules, so after an update
that changes only a helper module (``git pull`` in an editable install,
say) numba would load the old kernel and compute with the old helper:
wrong results, silently.

So before the first kernel runs in a process, :func:`clear_stale_kernels`
compares a stamp of every Python source of the package (path, modification
time and size, as numba stamps one file) with the stamp stored beside each
kernel cache folder, and where they differ deletes that folder's cached
kernels (``*.nbi`` index and ``*.nbc`` data files) and stores the new stamp.
The next call compiles afresh, once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger("spikehooks.backends")

#: Name of the stamp file kept in each kernel cache folder.
STAMP_NAME = "spikehooks-sources.stamp"
#: Modules whose cached kernels cover every cache folder of the package.
_KERNEL_MODULES = ("spikehooks.backends.compiled_backend._kernels",
                   "spikehooks.training._backward_kernel")

_checked = False


def sources_stamp(package_root: Path) -> str:
    """Return a digest of every ``.py`` file under ``package_root``: relative path,
    modification time (ns) and size, in sorted order (hex str)."""
    digest = hashlib.sha256()
    for path in sorted(package_root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package_root)}\0{stat.st_mtime_ns}\0"
                      f"{stat.st_size}\n".encode())
    return digest.hexdigest()


def clear_if_stale(cache_dirs: Iterable[Path], stamp: str) -> list[Path]:
    """Delete the cached kernels of every folder whose stored stamp is not ``stamp``.

    A folder without a stamp counts as stale (its kernels may predate this
    check). Returns the folders cleared. An OS error (a read-only cache, a
    file another process removed first) is logged, never raised: the worst
    case is a kernel compiled again.
    """
    cleared = []
    for folder in cache_dirs:
        stamp_file = folder / STAMP_NAME
        try:
            if stamp_file.is_file() and stamp_file.read_text() == stamp:
                continue
            for pattern in ("*.nbi", "*.nbc"):
                for cached in folder.glob(pattern):
                    cached.unlink(missing_ok=True)
            folder.mkdir(parents=True, exist_ok=True)
            stamp_file.write_text(stamp)
            cleared.append(folder)
        except OSError as exc:
            logger.warning("could not check numba's kernel cache in %s for stale kernels (%s); "
                           "delete its *.nbi and *.nbc files after updating spikehooks",
                           folder, exc)
    return cleared


def _cache_dirs() -> list[Path]:
    """The folders numba caches our kernels in (its ``_cache_path``; none if not exposed)."""
    import importlib

    folders = []
    for name in _KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            path = getattr(getattr(value, "_cache", None), "_cache_path", None)
            if isinstance(path, str):
                folders.append(Path(path))
                break
    return folders


def clear_stale_kernels() -> None:
    """Once per process: clear numba's cached kernels if the package's sources changed."""
    global _checked
    if _checked:
        return
    _checked = True
    root = Path(__file__).resolve().parents[2]
    folders = _cache_dirs()
    cleared = clear_if_stale(folders, sources_stamp(root))
    if cleared:
        logger.debug("spikehooks' sources changed: cleared cached kernels in %s",
                     ", ".join(os.fspath(f) for f in cleared))


__all__ = ["STAMP_NAME", "clear_if_stale", "clear_stale_kernels", "sources_stamp"]

"""numba's cached kernels are cleared when spikehooks' sources change (see _stale_cache).

numba checks only the file that defines a cached kernel, not the helper
modules it inlines, so an update of a helper alone would leave a stale
kernel in the cache.
"""

from __future__ import annotations

import os

import pytest

from spikehooks.backends.compiled_backend import _stale_cache
from spikehooks.backends.compiled_backend._stale_cache import (
    STAMP_NAME,
    clear_if_stale,
    sources_stamp,
)


def _package(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("A = 1\n")
    (root / "sub" / "b.py").write_text("B = 2\n")
    (root / "notes.txt").write_text("not a source\n")
    return root


def _cache(tmp_path, name="cache"):
    folder = tmp_path / name
    folder.mkdir()
    for file in ("m.f-10.py311.nbi", "m.f-10.py311.1.nbc", "m.cpython-311.pyc"):
        (folder / file).write_bytes(b"x")
    return folder


def test_the_stamp_changes_with_any_source_but_not_with_other_files(tmp_path):
    root = _package(tmp_path)
    first = sources_stamp(root)
    assert first == sources_stamp(root)
    (root / "notes.txt").write_text("changed, still not a source\n")
    assert sources_stamp(root) == first
    helper = root / "sub" / "b.py"
    stat = helper.stat()
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    touched = sources_stamp(root)
    assert touched != first
    helper.write_text("B = 3 \n")  # another size
    assert sources_stamp(root) not in (first, touched)


def test_a_folder_with_another_stamp_loses_its_kernels_and_keeps_the_rest(tmp_path):
    folder = _cache(tmp_path)
    (folder / STAMP_NAME).write_text("old")
    assert clear_if_stale([folder], "new") == [folder]
    assert sorted(p.name for p in folder.iterdir()) == ["m.cpython-311.pyc", STAMP_NAME]
    assert (folder / STAMP_NAME).read_text() == "new"


def test_a_folder_with_the_same_stamp_keeps_its_kernels(tmp_path):
    folder = _cache(tmp_path)
    (folder / STAMP_NAME).write_text("same")
    assert clear_if_stale([folder], "same") == []
    assert len(list(folder.glob("*.nb?"))) == 2


def test_a_folder_without_a_stamp_counts_as_stale_and_a_missing_one_is_made(tmp_path):
    folder = _cache(tmp_path)
    missing = tmp_path / "not-yet"
    assert clear_if_stale([folder, missing], "s") == [folder, missing]
    assert not list(folder.glob("*.nb?"))
    assert (missing / STAMP_NAME).read_text() == "s"


def test_an_unwritable_cache_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    with caplog.at_level("WARNING", logger="spikehooks.backends"):
        assert clear_if_stale([blocker / "cache"], "s") == []
    assert "delete its *.nbi and *.nbc files" in caplog.text


def test_the_backend_stamps_the_folders_numba_caches_our_kernels_in():
    pytest.importorskip("numba")
    folders = _stale_cache._cache_dirs()
    # One folder per package directory with cached kernels (in-tree or under NUMBA_CACHE_DIR).
    assert len(folders) == 2 and all(f.is_absolute() for f in folders)
    _stale_cache._checked = False
    _stale_cache.clear_stale_kernels()
    root = _stale_cache.Path(_stale_cache.__file__).resolve().parents[2]
    for folder in folders:
        assert (folder / STAMP_NAME).read_text() == sources_stamp(root)

"""SIGKILL a process that is writing checkpoints, at hundreds of random moments.

A forked child saves checkpoints in a loop (a new key per iteration, one key
overwritten every iteration, and old keys deleted) and reports each finished
iteration through a pipe.  The parent kills it after a random delay, then
checks: the newest finished checkpoint loads with the right values, the
overwritten key always loads (old or new values, never a mix), and every
other checkpoint either loads with consistent values or is refused.
"""

from __future__ import annotations

import os
import random
import signal
import struct
import time
import warnings

import numpy as np
import pytest

from spikehooks.serialisers import CheckpointError, NumpySerialiser

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

ROUNDS = 300
TIME_BUDGET_S = 30.0
SIZE = 20_000


def _state(i: int) -> dict:
    return {
        "learnable": {"c/weight": np.full(SIZE, i, np.float32)},
        "training": {"epoch": i, "moments": np.full(SIZE // 2, i, np.int64)},
    }


def _check_consistent(state: dict, i: int) -> None:
    assert state["training"]["epoch"] == i
    assert np.all(state["learnable"]["c/weight"] == i)
    assert np.all(state["training"]["moments"] == i)


def _writer(folder, start: int, pipe) -> None:
    ser = NumpySerialiser(folder)
    i = start
    while True:
        state = _state(i)
        ser.save(("ck", i), state)
        ser.save(("best",), state)
        if i >= 3:
            ser.delete(("ck", i - 3))
        os.write(pipe, struct.pack("<q", i))
        i += 1


def _run_and_kill(folder, start: int, delay: float) -> list[int]:
    read, write = os.pipe()
    with warnings.catch_warnings():  # fork in a threaded process: fine, the child only writes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            _writer(folder, start, write)
        finally:
            os._exit(1)
    os.close(write)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    done = b""
    while chunk := os.read(read, 4096):
        done += chunk
    os.close(read)
    return [v for (v,) in struct.iter_unpack("<q", done)]


def _save_duration(folder) -> float:
    """Median seconds of one loop iteration here (disks and load vary a lot)."""
    ser = NumpySerialiser(folder / "timing")
    times = []
    for i in range(5):
        start = time.perf_counter()
        ser.save(("ck", i), _state(i))
        ser.save(("best",), _state(i))
        times.append(time.perf_counter() - start)
    return sorted(times)[2]


def test_sigkill_at_random_moments_never_loses_or_accepts_a_bad_checkpoint(tmp_path):
    rng = random.Random(1234)
    ser = NumpySerialiser(tmp_path)
    # Kill within about three iterations of the child's loop, so most kills land mid-save
    # and every few rounds at least one save completes, however slow the disk is.
    window = 3.0 * _save_duration(tmp_path)
    last_done = -1
    interrupted = refused = rounds = 0
    started = time.monotonic()
    while rounds < ROUNDS and time.monotonic() - started < TIME_BUDGET_S:
        rounds += 1
        done = _run_and_kill(tmp_path, last_done + 1, rng.uniform(0.0, window))
        if done:
            last_done = done[-1]
        if last_done < 0:
            continue
        _check_consistent(ser.load(("ck", last_done)), last_done)
        best = ser.load(("best",))
        assert best["training"]["epoch"] in (last_done, last_done + 1)
        _check_consistent(best, best["training"]["epoch"])
        if (ser.folder(("ck", last_done + 1))).exists():
            interrupted += 1
        for name in ser.list_keys(("ck",)):
            try:
                state = ser.load(("ck", name))
            except CheckpointError as exc:
                assert str(exc.path).startswith(str(tmp_path))
                refused += 1
            else:
                _check_consistent(state, int(name))
    assert rounds >= 50
    assert last_done > 0
    assert interrupted > 0

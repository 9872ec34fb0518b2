"""SIGKILL a process that is writing checkpoints, at hundreds of random moments.

A forked child saves checkpoints in a loop (a new key per iteration, one key
overwritten every iteration, and old keys deleted) and reports each finished
iteration through a pipe.  The number of rounds is fixed (sized for a busy
2-core machine) and nothing asserted depends on how fast it runs: the parent
waits for 0 to 2 finished iterations, then kills the child after a random
delay of up to three iterations here; every fourth round the child instead
stops just before one of its atomic file writes, so some kills certainly land
mid-save.  After each kill the parent checks: the newest finished
checkpoint loads with the right values, the overwritten key always loads
(old or new values, never a mix), and every other checkpoint either loads
with consistent values or is refused.
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

ROUNDS = 120
GATED_EVERY = 4
GATE = -1
SIZE = 20_000
WRITES_PER_ITERATION = 6  # two saves of two arrays files and a manifest each


def _state(i: int) -> dict:
    return {
        "learnable": {"c/weight": np.full(SIZE, i, np.float32)},
        "training": {"epoch": i, "moments": np.full(SIZE // 2, i, np.int64)},
    }


def _check_consistent(state: dict, i: int) -> None:
    assert state["training"]["epoch"] == i
    assert np.all(state["learnable"]["c/weight"] == i)
    assert np.all(state["training"]["moments"] == i)


def _stop_before_write(number: int, pipe) -> None:
    """Make the serialiser's ``number``-th atomic write report ``GATE`` and wait for SIGKILL."""
    from spikehooks.serialisers import numpy_serialiser

    write_atomic = numpy_serialiser.write_atomic
    calls = [0]

    def gated(folder, name, data):
        calls[0] += 1
        if calls[0] == number:
            os.write(pipe, struct.pack("<q", GATE))
            while True:
                signal.pause()
        write_atomic(folder, name, data)

    numpy_serialiser.write_atomic = gated


def _writer(folder, start: int, pipe, gate_at: int | None) -> None:
    if gate_at is not None:
        _stop_before_write(gate_at, pipe)
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


def _read(read: int, until) -> list[int]:
    """Block until ``until(reports)`` holds; return the reports read."""
    reports: list[int] = []
    while not until(reports):
        data = os.read(read, 8)
        assert len(data) == 8, "the child exited or wrote a partial report"
        reports.append(struct.unpack("<q", data)[0])
    return reports


def _run_and_kill(folder, start: int, wait_for: int, delay: float,
                  gate_at: int | None = None) -> list[int]:
    """Run a writer; kill it after ``wait_for`` reports and ``delay`` s, or at its gate.

    Returns the iterations it reported finished.
    """
    read, write = os.pipe()
    with warnings.catch_warnings():  # fork in a threaded process: fine, the child only writes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            _writer(folder, start, write, gate_at)
        finally:
            os._exit(1)
    os.close(write)
    if gate_at is None:
        early = _read(read, lambda r: len(r) >= wait_for)
        time.sleep(delay)
    else:
        early = _read(read, lambda r: GATE in r)[:-1]
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    done = b""
    while chunk := os.read(read, 4096):
        done += chunk
    os.close(read)
    return early + [v for (v,) in struct.iter_unpack("<q", done)]


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
    interrupted = refused = 0
    for round_ in range(ROUNDS):
        if round_ % GATED_EVERY == GATED_EVERY - 1:
            gate_at = rng.randint(1, 2 * WRITES_PER_ITERATION)
            done = _run_and_kill(tmp_path, last_done + 1, 0, 0.0, gate_at)
            assert len(done) == (gate_at - 1) // WRITES_PER_ITERATION
        else:
            wait_for = rng.randint(0, 2)
            done = _run_and_kill(tmp_path, last_done + 1, wait_for, rng.uniform(0.0, window))
            assert len(done) >= wait_for
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
    assert last_done > 0
    assert interrupted >= ROUNDS // GATED_EVERY - 1

"""SIGKILL a process that streams recordings to disk, at hundreds of random moments.

A forked child evaluates a small network with a ``SpikeRecorder`` and a
``VarRecorder`` streaming to a fresh folder (``to=``), and reports every
finished batch through a pipe.  The number of rounds is fixed (sized for a
busy 2-core machine) and nothing asserted depends on how fast it runs: the
parent waits for the child to report 0 to 3 finished batches, then kills it
after a random delay of up to twice the time a child here takes per batch
(so kills land in the set-up, inside appends, commits and header rewrites);
every tenth round the child instead stops in its first ``on_batch_begin``,
so some kills certainly land before the first commit.  The parent then
reads the folder back three ways and compares with an in-memory recording
of the same run:

- with numpy alone (``json`` for ``state.json``, ``numpy.lib.format`` for the
  headers): exactly the committed batches, equal to the reference;
- with plain ``numpy.load``: every file loads and holds a prefix of the
  committed rows (its header may lag behind the last commit);
- with the lazy handle (``open_recording``): the committed entries.

No batch reported finished is ever lost, and at most the batch in flight is
committed beyond it.  Checkpoints have their own SIGKILL test in
``tests/checkpoint/test_checkpoint_kill.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import struct
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from _reliability_helpers import inference_net

from spikehooks import Callback
from spikehooks_recorders import SpikeRecorder, VarRecorder, open_recording

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

ROUNDS = 120
GATED_EVERY = 10
GATE = -1
NUM_BATCHES = 200
BATCH_SIZE = 2
SPIKE_FILES = ("times", "ids", "ends", "examples")
VAR_FILES = ("values", "examples")


class ReportBatches(Callback):
    """Writes each finished batch to a pipe, after the recorders have committed it."""

    def __init__(self, fd: int):
        self.fd = fd

    def on_batch_end(self, batch, metrics):
        os.write(self.fd, struct.pack("<q", batch))


class StopAtFirstBatch(Callback):
    """Reports ``GATE`` and waits for the SIGKILL as the first batch begins (nothing committed)."""

    def __init__(self, fd: int):
        self.fd = fd

    def on_batch_begin(self, batch):
        os.write(self.fd, struct.pack("<q", GATE))
        while True:
            signal.pause()


def _recorders(net, folder):
    return [SpikeRecorder(net["hidden"], key="spikes", to=None if folder is None else folder / "s"),
            VarRecorder(net["hidden"], "v", key="v", to=None if folder is None else folder / "v")]


def _evaluate(net, x, y, callbacks):
    with net["compiled"]:
        return net["compiled"].evaluate({net["input"]: x}, {net["output"]: y}, callbacks=callbacks)


def _fork_child(net, x, y, folder: Path, gated: bool = False) -> tuple[int, int]:
    """Fork a child streaming into ``folder``; return its pid and the read end of its pipe."""
    read, write = os.pipe()
    with warnings.catch_warnings():  # fork in a threaded process: the child only computes
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            gate = [StopAtFirstBatch(write)] if gated else []
            _evaluate(net, x, y, [*gate, *_recorders(net, folder), ReportBatches(write)])
        finally:
            os._exit(0)
    os.close(write)
    return pid, read


def _read_reports(read: int, count: int) -> list[int]:
    """Block until the child wrote ``count`` reports; return them."""
    data = b""
    while len(data) < 8 * count:
        chunk = os.read(read, 8 * count - len(data))
        assert chunk, "the child exited before reporting"
        data += chunk
    return [v for (v,) in struct.iter_unpack("<q", data)]


def _kill(pid: int, read: int) -> list[int]:
    """SIGKILL the child; return the reports it wrote that were not read yet."""
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    done = b""
    while chunk := os.read(read, 4096):
        done += chunk
    os.close(read)
    return [v for (v,) in struct.iter_unpack("<q", done)]


def _run_and_kill(net, x, y, folder: Path, wait_for: int, delay: float) -> int:
    """Stream into ``folder`` in a child; after ``wait_for`` reports and ``delay`` s, SIGKILL it.

    Returns the number of batches the child reported finished.
    """
    pid, read = _fork_child(net, x, y, folder)
    early = _read_reports(read, wait_for)
    time.sleep(delay)
    return len(early) + len(_kill(pid, read))


def _run_and_kill_before_first_commit(net, x, y, folder: Path) -> int:
    pid, read = _fork_child(net, x, y, folder, gated=True)
    assert _read_reports(read, 1) == [GATE]
    return len(_kill(pid, read))


def _check_uncommitted(folder: Path, reported: int) -> int:
    """Killed before the first commit: nothing reported, and the lazy handle (if any) is empty."""
    assert reported == 0
    if (folder / "meta.json").exists():
        handle = open_recording(folder)
        assert all(len(part) == 0 for part in (handle if isinstance(handle, tuple) else [handle]))
    return 0


def _committed_rows(folder: Path) -> dict[str, int] | None:
    """Rows of each file committed in ``state.json`` (None: killed before the first commit)."""
    try:
        return json.loads((folder / "state.json").read_text())["rows"]
    except FileNotFoundError:
        return None


def _read_with_numpy(folder: Path, name: str, rows: int) -> np.ndarray:
    """The first ``rows`` rows of ``name.npy``, past its header, whatever row count it claims."""
    path = folder / f"{name}.npy"
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        row_shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        offset = f.tell()
    per_row = int(np.prod(row_shape[1:]))
    data = np.fromfile(path, dtype=dtype, count=rows * per_row, offset=offset)
    return data.reshape((rows, *row_shape[1:]))


def _check_spikes(folder: Path, reference, reported: int) -> int:
    rows = _committed_rows(folder)
    if rows is None:
        return _check_uncommitted(folder, reported)
    examples = _read_with_numpy(folder, "examples", rows["examples"])
    entries = len(examples)
    assert entries % BATCH_SIZE == 0
    assert reported <= entries // BATCH_SIZE <= reported + 1
    np.testing.assert_array_equal(examples, np.arange(entries))
    ends = _read_with_numpy(folder, "ends", rows["ends"])
    times = _read_with_numpy(folder, "times", rows["times"])
    ids = _read_with_numpy(folder, "ids", rows["ids"])
    assert len(ends) == entries and (not entries or ends[-1] == len(times) == len(ids))
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    for k in range(entries):
        np.testing.assert_array_equal(times[starts[k]:ends[k]], reference["spikes"][0][k])
        np.testing.assert_array_equal(ids[starts[k]:ends[k]], reference["spikes"][1][k])
    for name in SPIKE_FILES:  # np.load alone: a valid header, a prefix of the committed rows
        loaded = np.load(folder / f"{name}.npy")
        assert len(loaded) <= rows[name]
        np.testing.assert_array_equal(loaded, {"times": times, "ids": ids, "ends": ends,
                                               "examples": examples}[name][:len(loaded)])
    handle = open_recording(folder)
    assert len(handle[0]) == len(handle[1]) == entries
    for k in range(entries):
        np.testing.assert_array_equal(handle[0][k], reference["spikes"][0][k])
        np.testing.assert_array_equal(handle[1][k], reference["spikes"][1][k])
    return entries


def _check_values(folder: Path, reference, reported: int) -> int:
    rows = _committed_rows(folder)
    if rows is None:
        return _check_uncommitted(folder, reported)
    values = _read_with_numpy(folder, "values", rows["values"])
    entries = len(values)
    assert rows["examples"] == entries and entries % BATCH_SIZE == 0
    assert reported <= entries // BATCH_SIZE <= reported + 1
    for k in range(entries):
        np.testing.assert_array_equal(values[k], reference["v"][k])
    for name in VAR_FILES:
        assert len(np.load(folder / f"{name}.npy")) <= rows[name]
    handle = open_recording(folder)
    assert len(handle) == entries
    for k in range(entries):
        np.testing.assert_array_equal(handle[k], reference["v"][k])
    return entries


def _batch_time(net, x, y, folder: Path) -> float:
    """Seconds per batch of a child here, from its first to its fourth report (disks vary)."""
    durations = []
    for i in range(3):
        pid, read = _fork_child(net, x, y, folder / str(i))
        _read_reports(read, 1)
        start = time.perf_counter()
        _read_reports(read, 3)
        durations.append((time.perf_counter() - start) / 3)
        _kill(pid, read)
    return sorted(durations)[1]


def test_sigkill_while_streaming_never_loses_or_garbles_a_finished_batch(tmp_path):
    net = inference_net(batch_size=BATCH_SIZE)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, (NUM_BATCHES * BATCH_SIZE, net["x"].shape[1])).astype(np.float32)
    y = np.arange(len(x)) % 3
    _, reference = _evaluate(net, x, y, _recorders(net, None))
    assert sum(len(t) for t in reference["spikes"][0]) > 0
    window = 2.0 * _batch_time(net, x, y, tmp_path / "timing")
    moments = random.Random(1234)
    outcomes = {"before_first_commit": 0, "partial": 0}
    for round_ in range(ROUNDS):
        folder = tmp_path / f"r{round_}"
        if round_ % GATED_EVERY == 0:
            reported = _run_and_kill_before_first_commit(net, x, y, folder)
            wait_for = 0
        else:
            wait_for = moments.randint(0, 3)
            reported = _run_and_kill(net, x, y, folder, wait_for, moments.uniform(0.0, window))
        spikes = _check_spikes(folder / "s", reference, reported)
        values = _check_values(folder / "v", reference, reported)
        assert abs(spikes - values) <= BATCH_SIZE
        assert min(spikes, values) >= wait_for * BATCH_SIZE
        outcomes["partial" if spikes or values else "before_first_commit"] += 1
    assert outcomes["before_first_commit"] >= ROUNDS // GATED_EVERY
    assert outcomes["partial"] >= 20

"""Folders spikehooks writes: one run owns each, one writer at a time, nothing of another run lost.

Real files, real training runs, and real processes for the OS-level lock: a
child process holds a folder and says so on its stdout; the parent tries the
same folder; the child is then killed (SIGKILL) and the folder is free again.
Nothing here depends on timing: the parent waits for the child's line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _reliability_helpers import inference_net, training_net

from spikehooks.errors import FolderError
from spikehooks.folders import LOCK_FILE, OWNER_FILE, FolderClaim, read_owner
from spikehooks_checkpoint import Checkpoint
from spikehooks_recorders import SpikeRecorder, VarRecorder, open_recording

HERE = Path(__file__).parent


def _train(path, num_epochs, resume_from=None, **checkpoint_kwargs):
    """Train the small EventProp net with a Checkpoint on ``path``; return the Checkpoint."""
    net = training_net()
    checkpoint = Checkpoint(path=path, **checkpoint_kwargs)
    with net["compiled"]:
        net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                              num_epochs=num_epochs, callbacks=[checkpoint],
                              resume_from=resume_from)
    return checkpoint


def _manifests(folder: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted(folder.glob("*/manifest.json"))}


def test_a_new_run_in_an_old_runs_folder_is_refused_and_latest_stays_the_old_runs(tmp_path):
    old = _train(tmp_path / "ck", 3)
    before = _manifests(tmp_path / "ck")
    with pytest.raises(FolderError, match=f"of run {old.run_id} of Checkpoint") as info:
        _train(tmp_path / "ck", 2)
    assert info.value.owner["run_id"] == old.run_id
    assert _manifests(tmp_path / "ck") == before
    resumed = _train(tmp_path / "ck", 4, resume_from="latest")
    assert resumed.run_id == old.run_id            # resuming continues the old run
    assert resumed.epochs() == [0, 1, 2, 3]


def test_overwrite_starts_a_new_run_and_removes_the_old_runs_checkpoints(tmp_path):
    old = _train(tmp_path / "ck", 4)
    new = _train(tmp_path / "ck", 2, overwrite=True)
    assert new.run_id != old.run_id
    assert read_owner(tmp_path / "ck")["run_id"] == new.run_id
    assert sorted(p.name for p in (tmp_path / "ck").iterdir() if p.is_dir()) == ["0", "1"]
    assert Checkpoint(path=tmp_path / "ck").epochs() == [0, 1]


def _plant_foreign(tmp_path: Path, epoch: int) -> bytes:
    """Copy another run's checkpoint into ``ck`` under ``epoch``; return its manifest."""
    _train(tmp_path / "other", 1)
    foreign = tmp_path / "ck" / str(epoch)
    foreign.mkdir()
    for file in (tmp_path / "other" / "0").iterdir():
        (foreign / file.name).write_bytes(file.read_bytes())
    return _manifests(tmp_path / "ck")[str(epoch)]


@pytest.mark.parametrize("pruning", [{"keep_last": 2},
                                     {"keep_last": 1, "save_best_only": True,
                                      "monitor": "accuracy"}],
                         ids=["keep_last", "save_best_only"])
def test_pruning_and_latest_never_touch_another_runs_checkpoint(tmp_path, pruning):
    first = _train(tmp_path / "ck", 2)
    copied = _plant_foreign(tmp_path, 9)
    kept = _train(tmp_path / "ck", 5, resume_from="latest", **pruning)
    assert kept.run_id == first.run_id
    epochs = kept.epochs()
    assert len(epochs) == pruning["keep_last"] and 9 not in epochs and max(epochs) <= 4
    if "save_best_only" not in pruning:
        assert epochs == [3, 4]                             # latest was epoch 1, not 9
    assert _manifests(tmp_path / "ck")["9"] == copied       # never deleted


def test_two_writers_of_one_folder_in_one_process_are_refused_at_set_params(tmp_path):
    net = inference_net()
    recorders = [SpikeRecorder(net["hidden"], key="s", to=tmp_path / "r"),
                 VarRecorder(net["hidden"], "v", key="v", to=tmp_path / "r")]
    with net["compiled"], pytest.raises(FolderError, match="SpikeRecorder\\(key='s'\\) is writ"):
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=recorders)
    assert net["compiled"].backend.timestep == 0
    assert not (tmp_path / "r" / OWNER_FILE).exists()      # the refused run wrote nothing
    # The refusal released the first recorder's claim: a run with it alone goes ahead.
    with net["compiled"]:
        _, data = net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                           callbacks=[recorders[0]])
    assert len(data["s"][0]) == 8


def test_a_folder_is_released_when_its_run_fails(tmp_path):
    net = inference_net()

    class Boom(SpikeRecorder):
        def on_batch_end(self, batch, metrics):
            raise RuntimeError("boom")

    with net["compiled"], pytest.raises(Exception, match="boom"):
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[Boom(net["hidden"], key="s", to=tmp_path / "r")])
    retry = SpikeRecorder(net["hidden"], key="s", to=tmp_path / "r", overwrite=True)
    with net["compiled"]:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[retry])
    assert read_owner(tmp_path / "r")["writer"] == "SpikeRecorder(key='s')"
    assert len(open_recording(tmp_path / "r")[0]) == 8


def test_to_a_folder_of_user_files_is_refused_and_overwrite_keeps_files_of_other_names(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    net = inference_net()
    with net["compiled"], pytest.raises(FolderError, match="'notes.txt'"):
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[VarRecorder(net["hidden"], "v", key="v", to=folder)])
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    with net["compiled"]:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[VarRecorder(net["hidden"], "v", key="v", to=folder,
                                                        overwrite=True)])
    assert (folder / "notes.txt").read_text() == "keep me"
    assert len(open_recording(folder)) == 8


def test_overwrite_of_a_spike_recording_by_a_variable_one_leaves_no_stale_array(tmp_path):
    net = inference_net()
    with net["compiled"]:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[SpikeRecorder(net["hidden"], key="s",
                                                          to=tmp_path / "r")])
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[VarRecorder(net["hidden"], "v", key="v",
                                                        to=tmp_path / "r", overwrite=True)])
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == [OWNER_FILE, LOCK_FILE, "examples.npy", "index.npy", "meta.json",
                     "state.json", "values.npy"]


# ------------------------------------------------------------- across processes

_HOLDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    from _reliability_helpers import inference_net
    from spikehooks import Callback
    from spikehooks_recorders import SpikeRecorder

    class Hold(Callback):
        def on_batch_end(self, batch, metrics):
            print("holding", flush=True)
            sys.stdin.readline()   # blocks until the parent closes stdin or kills us

    net = inference_net()
    with net["compiled"]:
        net["compiled"].evaluate({{net["input"]: net["x"]}}, {{net["output"]: net["y"]}},
                                 callbacks=[SpikeRecorder(net["hidden"], key="s", to={folder!r}),
                                            Hold()])
""")


def _holder(folder: Path) -> subprocess.Popen:
    """A child process streaming into ``folder``, stopped inside its first batch."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(here=str(HERE), folder=str(folder))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line == "holding\n", line
    return child


def test_a_folder_written_by_another_process_is_refused_even_with_overwrite(tmp_path):
    child = _holder(tmp_path / "r")
    try:
        owner = read_owner(tmp_path / "r")
        assert owner["pid"] == child.pid and owner["writer"] == "SpikeRecorder(key='s')"
        net = inference_net()
        recorder = VarRecorder(net["hidden"], "v", key="v", to=tmp_path / "r", overwrite=True)
        with net["compiled"], pytest.raises(FolderError, match="another process is writing") as e:
            net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                     callbacks=[recorder])
        assert f"pid {child.pid}" in str(e.value)
        assert str(e.value).endswith("Wait until that run ends, or use another folder.")
        assert net["compiled"].backend.timestep == 0
        with pytest.raises(FolderError, match="another process"):
            Checkpoint(path=tmp_path / "r", overwrite=True).set_params(
                compiled_network=None, callbacks=[])
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        child.stdin.close()
    assert child.returncode == -signal.SIGKILL


def test_a_killed_writer_never_blocks_the_next_run(tmp_path):
    child = _holder(tmp_path / "r")
    child.kill()
    child.wait()
    child.stdout.close()
    child.stdin.close()
    # The OS dropped the dead process's lock; its half-written recording is another run's.
    claim = FolderClaim(tmp_path / "r", kind="recording", writer="test", fixes="")
    with pytest.raises(FolderError, match=f"pid {child.pid}"):
        claim.acquire()
    claim.acquire(overwrite=True)
    assert claim.held
    claim.release()
    net = inference_net()
    with net["compiled"]:
        _, data = net["compiled"].evaluate(
            {net["input"]: net["x"]}, {net["output"]: net["y"]},
            callbacks=[SpikeRecorder(net["hidden"], key="s", to=tmp_path / "r", overwrite=True)])
    assert len(data["s"][0]) == 8
    np.testing.assert_array_equal(np.array(data["s"].examples[:]), np.arange(8))


def test_the_owner_file_names_the_run_and_the_lock_is_gone_after_the_run(tmp_path):
    checkpoint = _train(tmp_path / "ck", 1)
    owner = json.loads((tmp_path / "ck" / OWNER_FILE).read_text())
    assert owner["run_id"] == checkpoint.run_id and owner["kind"] == "checkpoints"
    assert owner["pid"] == os.getpid()
    claim = FolderClaim(tmp_path / "ck", kind="checkpoints", writer="probe", fixes="")
    claim.acquire(resume=True)                 # free: the run released its lock
    assert claim.run_id == checkpoint.run_id
    claim.release()

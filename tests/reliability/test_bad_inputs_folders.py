"""Catalogue of wrong uses of the folders spikehooks writes, of resumes and of recordings read back.

Same rules as ``test_bad_inputs.py``: spikehooks' own error type, a message
naming the object (or file) at fault and the fix, and nothing half-done: no
simulated batch, weights unchanged, the folder's files as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _reliability_helpers import (
    Case,
    Ctx,
    inference_net,
    nothing_simulated,
    params,
    run_case,
    training_net,
    weights,
    weights_unchanged,
)

from spikehooks.compilers import EventPropCompiler
from spikehooks.errors import ConfigurationError, FolderError
from spikehooks.serialisers import CheckpointError, CheckpointFormatError
from spikehooks_checkpoint import Checkpoint
from spikehooks_recorders import RecordingError, SpikeRecorder, VarRecorder, open_recording


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".spikehooks.lock"}


def _folder_untouched(name: str):
    def after(ctx: Ctx) -> None:
        nothing_simulated(ctx)
        assert _snapshot(ctx.tmp_path / name) == ctx.saved["files"]
    return after


def _weights_and_folder_untouched(name: str):
    def after(ctx: Ctx) -> None:
        weights_unchanged(ctx)
        assert _snapshot(ctx.tmp_path / name) == ctx.saved["files"]
    return after


# ------------------------------------------------------------- folders


def _train_with(make, *, before=None, **kwargs):
    """Train the EventProp net one epoch with ``make(ctx)``'s callbacks, after ``before(ctx)``."""
    def act(ctx: Ctx):
        if before is not None:
            before(ctx)
        net = training_net()
        ctx.saved.update(compiled=net["compiled"], weights=weights(net["compiled"]))
        with net["compiled"]:
            net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                  num_epochs=2, callbacks=[*make(ctx), ctx.spy], **kwargs)
    return act


def _earlier_run(ctx: Ctx) -> None:
    """Another run's checkpoints in ``ck``, and a snapshot of its files."""
    net = training_net()
    with net["compiled"]:
        net["compiled"].train({net["input"]: net["x"]}, {net["output"]: net["y"]},
                              num_epochs=2, callbacks=[Checkpoint(path=ctx.tmp_path / "ck")])
    ctx.saved["files"] = _snapshot(ctx.tmp_path / "ck")


def _user_files(name: str):
    def before(ctx: Ctx) -> None:
        folder = ctx.tmp_path / name
        folder.mkdir()
        (folder / "notes.txt").write_text("my own notes")
        (folder / "values.npy").write_bytes(b"a file of mine")
        ctx.saved["files"] = _snapshot(folder)
    return before


def _evaluate_with(make, *, before=None):
    def act(ctx: Ctx):
        if before is not None:
            before(ctx)
        net = inference_net()
        ctx.saved["compiled"] = net["compiled"]
        with net["compiled"]:
            return net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                            callbacks=[*make(net, ctx), ctx.spy])
    return act


def _earlier_recording(ctx: Ctx) -> None:
    net = inference_net()
    with net["compiled"]:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[VarRecorder(net["hidden"], "v", key="v",
                                                        to=ctx.tmp_path / "rec")])
    ctx.saved["files"] = _snapshot(ctx.tmp_path / "rec")


FOLDERS = [
    Case("checkpoint-into-another-runs-folder",
         _train_with(lambda c: [Checkpoint(path=c.tmp_path / "ck")], before=_earlier_run),
         FolderError, r"Checkpoint\(path='.*ck'\) folder .* of run [0-9a-f]{32}",
         r"resume_from='latest' to continue that run, overwrite=True",
         _weights_and_folder_untouched("ck")),
    Case("two-checkpoints-on-one-folder",
         _train_with(lambda c: [Checkpoint(path=c.tmp_path / "ck"),
                                Checkpoint(path=c.tmp_path / "ck2"),
                                Checkpoint(path=c.tmp_path / "ck", epoch_interval=2)]),
         FolderError, r"Checkpoint\(path='.*ck'\) is writing in this process",
         r"Give each writer its own folder", weights_unchanged),
    Case("checkpoint-into-a-folder-of-user-files",
         _train_with(lambda c: [Checkpoint(path=c.tmp_path / "mine")], before=_user_files("mine")),
         FolderError, r"'notes\.txt', 'values\.npy'", r"overwrite=True",
         _weights_and_folder_untouched("mine")),
    Case("checkpoint-overwrite-not-a-bool", lambda ctx: Checkpoint(overwrite="yes"),
         ConfigurationError, r"Checkpoint overwrite must be True or False; got 'yes'",
         r"Pass overwrite=True"),
    Case("stream-into-another-recording",
         _evaluate_with(lambda n, c: [VarRecorder(n["hidden"], "v", key="v",
                                                  to=c.tmp_path / "rec")],
                        before=_earlier_recording),
         FolderError, r"VarRecorder\(key='v'\) folder .* of run [0-9a-f]{32}",
         r"Pass overwrite=True to replace it, or another to= folder",
         _folder_untouched("rec")),
    Case("two-recorders-stream-to-one-folder",
         _evaluate_with(lambda n, c: [SpikeRecorder(n["hidden"], key="s", to=c.tmp_path / "r"),
                                      VarRecorder(n["hidden"], "v", key="v",
                                                  to=c.tmp_path / "r")]),
         FolderError, r"VarRecorder\(key='v'\) folder .*SpikeRecorder\(key='s'\) is writing",
         r"Give each writer its own folder", nothing_simulated),
    Case("stream-into-a-folder-of-user-files",
         _evaluate_with(lambda n, c: [SpikeRecorder(n["hidden"], key="s", to=c.tmp_path / "u")],
                        before=_user_files("u")),
         FolderError, r"SpikeRecorder\(key='s'\) folder .*'notes\.txt'", r"overwrite=True",
         _folder_untouched("u")),
    Case("recorder-overwrite-not-a-bool",
         lambda ctx: VarRecorder(inference_net()["hidden"], "v", to=ctx.tmp_path, overwrite=1),
         ConfigurationError, r"VarRecorder\(key=None\) overwrite must be True or False; got 1",
         r"Pass overwrite=True"),
]


# ------------------------------------------------------------- resume


def _resume_into(compile_other):
    """Save a checkpoint of the Adam net, then resume a differently compiled net from it."""
    def act(ctx: Ctx):
        _earlier_run(ctx)
        net = training_net()
        compiled = compile_other(net) if compile_other is not None else net["compiled"]
        ctx.saved.update(compiled=compiled, weights=weights(compiled))
        with compiled:
            compiled.train({net["input"]: net["x"]}, {net["output"]: net["y"]}, num_epochs=3,
                           resume_from="latest",
                           callbacks=[Checkpoint(path=ctx.tmp_path / "ck"), ctx.spy])
    return act


def _sgd(net):
    return EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                             optimiser=("sgd", {"alpha": 0.01}), batch_size=4,
                             rng_seed=1).compile(net["network"])


def _newer_format(ctx: Ctx) -> None:
    _earlier_run(ctx)
    manifest = ctx.tmp_path / "ck" / "1" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 99
    manifest.write_text(json.dumps(data))
    ctx.saved["files"] = _snapshot(ctx.tmp_path / "ck")


RESUME = [
    Case("resume-with-another-optimiser", _resume_into(_sgd), CheckpointError,
         r"Checkpoint cannot resume from .*ck.1: SGD state",
         r"same optimiser class\. Nothing was loaded", weights_unchanged),
    Case("resume-newer-checkpoint-format",
         _train_with(lambda c: [Checkpoint(path=c.tmp_path / "ck")], before=_newer_format,
                     resume_from="latest"),
         CheckpointFormatError, r"ck/1/manifest\.json .* got version 99",
         r"left untouched: read it with that spikehooks version, or use another folder",
         _weights_and_folder_untouched("ck")),
    Case("overwrite-a-newer-checkpoint-format",
         _train_with(lambda c: [Checkpoint(path=c.tmp_path / "ck", overwrite=True)],
                     before=_newer_format),
         CheckpointFormatError, r"ck/1/manifest\.json", r"left untouched",
         _weights_and_folder_untouched("ck")),
]


# ------------------------------------------------------------- recordings read back


def _damaged_recording(damage):
    def act(ctx: Ctx):
        _earlier_recording(ctx)
        damage(ctx.tmp_path / "rec")
        return [entry.sum() for entry in open_recording(ctx.tmp_path / "rec")]
    return act


def _truncate(name: str, nbytes: int = 3):
    def damage(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[:-nbytes])
    return damage


def _flip(name: str, offset: int):
    def damage(folder: Path) -> None:
        path = folder / name
        raw = bytearray(path.read_bytes())
        raw[offset] ^= 0x10
        path.write_bytes(bytes(raw))
    return damage


RECORDINGS = [
    Case("recording-array-truncated", _damaged_recording(_truncate("values.npy")),
         RecordingError, r"rec/values\.npy is truncated", r"nothing of it is read"),
    Case("recording-array-corrupt", _damaged_recording(_flip("values.npy", 300)),
         RecordingError, r"rec/values\.npy rows 0\.\.2 \(batch 0\)", r"the file is corrupt"),
    Case("recording-index-truncated", _damaged_recording(_truncate("index.npy", 20)),
         RecordingError, r"rec/index\.npy is truncated", r"nothing of it is read"),
    Case("recording-index-corrupt", _damaged_recording(_flip("index.npy", 256)),
         RecordingError, r"rec/index\.npy does not match the CRC-32", r"the index is corrupt"),
    Case("recording-state-truncated", _damaged_recording(_truncate("state.json", 10)),
         RecordingError, r"rec/state\.json is truncated or corrupt",
         r"committed row counts cannot be read"),
    Case("recording-meta-truncated", _damaged_recording(_truncate("meta.json", 10)),
         RecordingError, r"rec/meta\.json is not valid JSON", r"description is damaged"),
]

ALL = FOLDERS + RESUME + RECORDINGS


def test_catalogue_ids_are_distinct():
    ids = [case.id for case in ALL]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", params(ALL))
def test_bad_input_is_refused_with_a_fix(case, tmp_path, monkeypatch, fake_dist):
    run_case(case, Ctx(tmp_path, monkeypatch, fake_dist))


def test_a_damaged_recording_never_raises_a_bare_builtin_error(tmp_path):
    """Every single-byte truncation point of state.json gives RecordingError, nothing else."""
    ctx = Ctx(tmp_path, None, None)
    _earlier_recording(ctx)
    state = (tmp_path / "rec" / "state.json").read_bytes()
    for cut in range(len(state)):
        (tmp_path / "rec" / "state.json").write_bytes(state[:cut])
        with pytest.raises(RecordingError) as info:
            [np.asarray(entry).sum() for entry in open_recording(tmp_path / "rec")]
        assert info.value.path == tmp_path / "rec" / "state.json"

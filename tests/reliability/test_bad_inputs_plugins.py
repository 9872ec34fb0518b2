"""Catalogue of wrong uses of training and of the three plugins (recorders, checkpoint, schedules).

Same rules as ``test_bad_inputs.py``: spikehooks' own error type, a message
naming the object at fault and the fix, and nothing half-done: no simulated
batch, weights unchanged after a refused train or load, no stream folder
written by a refused recorder.
"""

from __future__ import annotations

import types

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
    xy,
)

from spikehooks.compilers import EventPropCompiler
from spikehooks.data import preprocess_spikes
from spikehooks.errors import ConfigurationError, UnknownNameError
from spikehooks.neurons import LeakyIntegrateFire
from spikehooks.optimisers import Adam
from spikehooks.serialisers import CheckpointError, NumpySerialiser, load, save
from spikehooks_checkpoint import Checkpoint
from spikehooks_recorders import (
    BUDGET_ENV,
    ConnVarRecorder,
    SpikeRecorder,
    VarRecorder,
    open_recording,
)
from spikehooks_schedules import (
    CosineAnnealing,
    EarlyStopping,
    ExponentialDecay,
    OptimiserParamSchedule,
    ReduceOnPlateau,
    StepDecay,
)

# ----------------------------------------------------------------- training


def _train(change):
    """Train the small EventProp net for one epoch after ``change(net)`` -> (x, y, kwargs)."""
    def act(ctx: Ctx):
        net = training_net()
        ctx.saved.update(compiled=net["compiled"], weights=weights(net["compiled"]))
        x, y, kwargs = change(net)
        kwargs.setdefault("callbacks", [ctx.spy])
        with net["compiled"]:
            return net["compiled"].train(x, y, **{"num_epochs": 1, **kwargs})
    return act


TRAIN = [
    Case("train-labels-out-of-range", _train(lambda n: xy(n, y=n["y"] + 3)),
         ConfigurationError, r"'output'", r"Check the label encoding", weights_unchanged),
    Case("train-resume-without-checkpoint", _train(lambda n: xy(n, resume_from="latest")),
         ConfigurationError, r"resume_from='latest'", r"Add a Checkpoint callback",
         weights_unchanged),
    Case("train-validation-x-without-y",
         _train(lambda n: xy(n, validation_x={n["input"]: n["x"]})),
         ConfigurationError, r"validation_x and validation_y", r"Pass both",
         weights_unchanged),
    Case("train-spike-input-not-preprocessed",
         _train(lambda n: xy(n, x=np.zeros((8, 6)))), ConfigurationError,
         r"population 'input'", r"Wrap a single example in a list|preprocess_spikes",
         weights_unchanged),
    Case("train-spike-input-wrong-size",
         _train(lambda n: xy(n, x=[preprocess_spikes([1.0], [0], 4)] * 8)),
         ConfigurationError, r"population 'input' example 0", r"Pass num_neurons=6",
         weights_unchanged),
    Case("train-max-spikes-exceeded",
         _train(lambda n: xy(n, x=[preprocess_spikes(np.arange(40.0) % 9, np.arange(40) % 6,
                                                      6)] * 8)),
         ConfigurationError, r"population 'input'", r"Raise max_spikes", weights_unchanged),
    Case("train-unknown-optimiser-parameter",
         lambda ctx: EventPropCompiler(10, "sparse_categorical_crossentropy",
                                       optimiser=("adam", {"learning_rate": 0.1})),
         ConfigurationError, r"'adam'", r"Check the constructor arguments of Adam"),
    Case("train-time-loss-on-voltage-readout",
         lambda ctx: EventPropCompiler(10, ("relative_mean_square_error", {"delta": 2.0})).compile(
             training_net()["network"]),
         ConfigurationError, r"'output'", r"Use 'sparse_categorical_crossentropy'"),
    Case("train-negative-epochs", _train(lambda n: xy(n, num_epochs=-1)), ConfigurationError,
         r"train num_epochs must be an int >= 1; got -1", r"Pass e\.g\. num_epochs=10",
         weights_unchanged),
    Case("train-negative-start-epoch", _train(lambda n: xy(n, start_epoch=-1)),
         ConfigurationError, r"train start_epoch must be an int >= 0; got -1",
         r"start_epoch \+ num_epochs - 1 are trained", weights_unchanged),
    Case("train-epochs-as-string", _train(lambda n: xy(n, num_epochs="3")), ConfigurationError,
         r"train num_epochs must be an int >= 1; got '3'", r"Pass e\.g\. num_epochs=10",
         weights_unchanged),
    Case("train-validation-split-above-one", _train(lambda n: xy(n, validation_split=1.5)),
         ConfigurationError, r"validation_split must be a number in \[0, 1\); got 1\.5",
         r"e\.g\. validation_split=0\.1", weights_unchanged),
    Case("train-validation-split-a-string", _train(lambda n: xy(n, validation_split="a")),
         ConfigurationError, r"validation_split must be a number in \[0, 1\); got 'a'",
         r"e\.g\. validation_split=0\.1", weights_unchanged),
    Case("train-losses-dict-wrong-key",
         lambda ctx: EventPropCompiler(10, {"x": "sparse_categorical_crossentropy"}).compile(
             training_net()["network"]),
         ConfigurationError, r"output population 'output' as key; got \['x'\]",
         r"Key the dict by the output layer object"),
    Case("negative-learning-rate", lambda ctx: Adam(alpha=-0.1), ConfigurationError,
         r"Adam alpha must be a finite number > 0; got -0\.1", r"Pass e\.g\. alpha=1e-3"),
    Case("negative-refractory-time", lambda ctx: LeakyIntegrateFire(tau_refrac=-1.0),
         ConfigurationError, r"LeakyIntegrateFire tau_refrac must be a finite number >= 0; "
                             r"got -1\.0", r"e\.g\. tau_refrac=1\.0"),
    Case("train-loss-missing-argument",
         lambda ctx: EventPropCompiler(10, "relative_mean_square_error").compile(
             training_net()["network"]),
         ConfigurationError, r"'relative_mean_square_error'",
         r"Check the constructor arguments of RelativeMeanSquareError"),
]


# ----------------------------------------------------------------- recorders


def _record(make, *, record_hidden=True):
    """Evaluate the small inference net with ``make(net, ctx)``'s recorders, then the spy."""
    def act(ctx: Ctx):
        net = inference_net(record_hidden=record_hidden)
        ctx.saved["compiled"] = net["compiled"]
        recorders = make(net, ctx)
        with net["compiled"]:
            return net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                            callbacks=[*recorders, ctx.spy])
    return act


def _pop(name="hidden", shape=(5,)):
    return types.SimpleNamespace(name=name, shape=shape)


def _previous_recording_survives(ctx: Ctx) -> None:
    nothing_simulated(ctx)
    assert len(open_recording(ctx.tmp_path / "v")) == 8


def _refused_after_streaming(net, ctx):
    """A streaming recorder listed before a recorder that is refused for its budget."""
    ctx.saved["stepped"] = True  # the first, successful run below simulates on purpose
    with net["compiled"]:
        net["compiled"].evaluate({net["input"]: net["x"]}, {net["output"]: net["y"]},
                                 callbacks=[VarRecorder(net["hidden"], "v", key="v",
                                                        to=ctx.tmp_path / "v")])
    return [VarRecorder(net["hidden"], "v", key="v", to=ctx.tmp_path / "v", overwrite=True),
            SpikeRecorder(net["hidden"], key="s", max_bytes=10)]


def _no_stream_folder(ctx: Ctx) -> None:
    nothing_simulated(ctx)
    assert not (ctx.tmp_path / "s").exists()


def _budget(net, ctx):
    ctx.monkeypatch.setenv(BUDGET_ENV, "100B")
    return [SpikeRecorder(net["hidden"], key="s"), VarRecorder(net["hidden"], "v", key="v")]


RECORDERS = [
    Case("spike-recorder-without-record-spikes",
         _record(lambda n, c: [SpikeRecorder(n["hidden"], key="s")], record_hidden=False),
         ConfigurationError, r"population 'hidden'", r"Set record_spikes=True on 'hidden'",
         nothing_simulated),
    Case("unknown-variable", _record(lambda n, c: [VarRecorder(n["hidden"], "vv", key="v")]),
         ConfigurationError, r"population 'hidden'; got 'vv'", r"Its variables .*v \(V\)",
         nothing_simulated),
    Case("var-and-genn-var", lambda ctx: VarRecorder(_pop(), "v", genn_var="V"),
         ConfigurationError, r"VarRecorder\(key=None\)", r"Pass e\.g\. VarRecorder\(pop, 'v'\)"),
    Case("record-every-zero", lambda ctx: VarRecorder(_pop(), "v", record_every=0),
         ConfigurationError, r"VarRecorder\(key=None\) record_every",
         r"Pass e\.g\. record_every=10"),
    Case("record-every-longer-than-a-batch",
         _record(lambda n, c: [VarRecorder(n["hidden"], "v", key="v", record_every=11)]),
         ConfigurationError, r"VarRecorder\(key='v'\)", r"Lower record_every", nothing_simulated),
    Case("neuron-filter-out-of-range", lambda ctx: SpikeRecorder(_pop(), neuron_filter=[1, 7]),
         ConfigurationError, r"population 'hidden' of shape \(5,\)", r"indices in \[-5, 4\]"),
    Case("neuron-filter-zero-step", lambda ctx: SpikeRecorder(_pop(), neuron_filter=np.s_[::0]),
         ConfigurationError, r"population 'hidden'", r"Use e\.g\. np\.s_\[0::2\]"),
    Case("neuron-filter-mask-too-long",
         lambda ctx: SpikeRecorder(_pop(), neuron_filter=[True] * 7),
         ConfigurationError, r"population 'hidden'", r"np\.zeros\(shape, bool\)"),
    Case("neuron-filter-int-on-2d",
         lambda ctx: SpikeRecorder(_pop("grid", (4, 4)), neuron_filter=3),
         ConfigurationError, r"population 'grid' of shape \(4, 4\)", r"np\.index_exp"),
    Case("neuron-filter-a-string", lambda ctx: VarRecorder(_pop(), "v", neuron_filter="all"),
         ConfigurationError, r"population 'hidden'", r"docs/recording\.md"),
    Case("example-filter-past-the-data",
         _record(lambda n, c: [SpikeRecorder(n["hidden"], key="s", example_filter=[2, 100])]),
         ConfigurationError, r"SpikeRecorder\(key='s'\)", r"Check the index against the data",
         nothing_simulated),
    Case("example-filter-negative", lambda ctx: SpikeRecorder(_pop(), example_filter=[-1]),
         ConfigurationError, r"SpikeRecorder\(key=None\)", r"Indices count from 0"),
    Case("example-filter-floats", lambda ctx: SpikeRecorder(_pop(), example_filter=[0.5]),
         ConfigurationError, r"SpikeRecorder\(key=None\)", r"Use integer example indices"),
    Case("example-filter-a-string", lambda ctx: SpikeRecorder(_pop(), example_filter="first"),
         ConfigurationError, r"SpikeRecorder\(key=None\)", r"example_filter=\[0, 5\]"),
    Case("recording-over-max-bytes",
         _record(lambda n, c: [SpikeRecorder(n["hidden"], key="s", max_bytes="10B",
                                             to=None)]),
         ConfigurationError, r"SpikeRecorder\(key='s'\)", r"stream to disk with to=",
         nothing_simulated),
    Case("recordings-over-the-budget", _record(_budget), ConfigurationError,
         r"SpikeRecorder\(key='s'\).*VarRecorder\(key='v'\)", r"raise the budget",
         nothing_simulated),
    Case("max-bytes-unparsable", lambda ctx: SpikeRecorder(_pop(), max_bytes="2 parsecs"),
         ConfigurationError, r"SpikeRecorder\(key=None\) max_bytes", r"followed by B, kB"),
    Case("unknown-phase", lambda ctx: SpikeRecorder(_pop(), phase="training"),
         ConfigurationError, r"SpikeRecorder\(key=None\) phase", r"phase='test'"),
    Case("epochs-a-string", lambda ctx: SpikeRecorder(_pop(), epochs="all"),
         ConfigurationError, r"SpikeRecorder\(key=None\) epochs", r"epochs=lambda e"),
    Case("times-before-a-run", lambda ctx: VarRecorder(_pop(), "v").times_ms(),
         ConfigurationError, r"VarRecorder\(key=None\)", r"Call it after evaluate"),
    Case("unknown-connection-variable",
         _record(lambda n, c: [ConnVarRecorder(n["network"].connections[0], "wieght", key="w")]),
         ConfigurationError, r"connection 'conn0'; got 'wieght'", r"weight \(g\)",
         nothing_simulated),
    Case("refused-run-keeps-previous-recording", _record(_refused_after_streaming),
         ConfigurationError, r"SpikeRecorder\(key='s'\)", r"stream to disk",
         _previous_recording_survives),
    Case("stream-to-an-existing-file",
         _record(lambda n, c: [SpikeRecorder(n["hidden"], key="s",
                                             to=_file(c.tmp_path / "s"))]),
         ConfigurationError, r"SpikeRecorder\(key='s'\)", r"Pass a folder", nothing_simulated),
    Case("open-a-folder-that-is-no-recording",
         lambda ctx: open_recording(ctx.tmp_path),
         ConfigurationError, r"meta\.json", r"to="),
]


def _file(path):
    path.write_text("not a folder")
    return path


# ----------------------------------------------------------------- checkpoint


def _saved_checkpoint(ctx: Ctx, damage=None):
    """Save the inference net's weights under ('ck', 1), damage them, return the net."""
    net = inference_net()
    ctx.saved.update(compiled=net["compiled"], weights=weights(net["compiled"]))
    ser = NumpySerialiser(ctx.tmp_path)
    with net["compiled"]:
        save(net["compiled"], ("ck", 1), ser)
    folder = ctx.tmp_path / "ck" / "1"
    if damage is not None:
        damage(folder)
    return net, ser


def _flip_a_byte(folder):
    data_file = next(folder.glob("learnable-*.npz"))
    raw = bytearray(data_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data_file.write_bytes(bytes(raw))


def _load_damaged(damage, keys=("ck", 1)):
    def act(ctx: Ctx):
        net, ser = _saved_checkpoint(ctx, damage)
        with net["compiled"]:
            load(net["compiled"], keys, ser)
    return act


def _resume_latest_damaged(ctx: Ctx):
    """Train one epoch with a Checkpoint, damage its checkpoint, resume from "latest"."""
    net = training_net()
    compiled, data = net["compiled"], xy(net)[:2]
    with compiled:
        compiled.train(*data, num_epochs=1, callbacks=[Checkpoint(path=ctx.tmp_path / "run")])
    ctx.saved.update(compiled=compiled, weights=weights(compiled), stepped=True)
    _flip_a_byte(ctx.tmp_path / "run" / "0")
    with compiled:
        compiled.train(*data, num_epochs=2, resume_from="latest",
                       callbacks=[Checkpoint(path=ctx.tmp_path / "run"), ctx.spy])


CHECKPOINT = [
    Case("corrupt-checkpoint-file", _load_damaged(_flip_a_byte), CheckpointError,
         r"learnable-[0-9a-f]{16}\.npz", r"truncated or modified", weights_unchanged),
    Case("truncated-manifest",
         _load_damaged(lambda f: (f / "manifest.json").write_text('{"format": ')),
         CheckpointError, r"manifest\.json", r"not a valid manifest", weights_unchanged),
    Case("checkpoint-keys-wrong", _load_damaged(None, keys=("ck", 2)), CheckpointError,
         r"ck/2/manifest\.json", r"the keys are wrong", weights_unchanged),
    Case("resume-from-a-corrupt-latest", _resume_latest_damaged, CheckpointError,
         r"run", r"Start without resume_from", weights_unchanged, warns=UserWarning),
    Case("checkpoint-save-best-without-monitor",
         lambda ctx: Checkpoint(save_best_only=True), ConfigurationError,
         r"Checkpoint monitor", r"Pass e\.g\. monitor='val_accuracy'"),
    Case("checkpoint-unknown-serialiser", lambda ctx: Checkpoint(serialiser="npy"),
         UnknownNameError, r"'npy'", r"Did you mean 'numpy'"),
    Case("checkpoint-empty-key", lambda ctx: NumpySerialiser(ctx.tmp_path).folder(("ck", "")),
         ConfigurationError, r"\('ck', ''\)", r"Use keys such as \('checkpoints', 5\)"),
    Case("checkpoint-weights-of-other-sizes",
         lambda ctx: _load_other_sizes(ctx), ConfigurationError,
         r"'conn0/weight' must have shape \(6, 5\)", r"network of the same sizes",
         weights_unchanged),
    Case("checkpoint-interval-zero", lambda ctx: Checkpoint(epoch_interval=0),
         ConfigurationError, r"Checkpoint epoch_interval", r"Pass e\.g\. epoch_interval=1"),
    Case("checkpoint-mode-misspelt", lambda ctx: Checkpoint(monitor="accuracy", mode="maximum"),
         ConfigurationError, r"Checkpoint mode", r"mode='max'"),
]


def _load_other_sizes(ctx: Ctx):
    net = inference_net()
    ctx.saved.update(compiled=net["compiled"], weights=weights(net["compiled"]))
    ser = NumpySerialiser(ctx.tmp_path)
    ser.save(("small",), {"learnable": {"conn0/weight": np.ones((3, 5), np.float32)}})
    with net["compiled"]:
        load(net["compiled"], ("small",), ser)


# ----------------------------------------------------------------- schedules

SCHEDULES = [
    Case("schedule-unknown-optimiser-parameter",
         _train(lambda n: xy(n, callbacks=[StepDecay(1, 0.5, param="lr")])),
         ConfigurationError, r"StepDecay param .*Adam", r"Pick one of those names",
         weights_unchanged),
    Case("schedule-in-evaluate", _record(lambda n, c: [ExponentialDecay(0.9)]),
         ConfigurationError, r"ExponentialDecay", r"Use it in the callbacks of train\(\)",
         nothing_simulated),
    Case("monitor-of-no-metric",
         _train(lambda n: xy(n, callbacks=[EarlyStopping("loss", patience=2)])),
         ConfigurationError, r"EarlyStopping monitor 'loss'", r"Available: output/",
         weights_unchanged),
    Case("warmup-longer-than-schedule", lambda ctx: CosineAnnealing(5, warmup_epochs=5),
         ConfigurationError, r"CosineAnnealing warmup_epochs", r"Shorten the warm-up"),
    Case("per-batch-validation-monitor",
         lambda ctx: ReduceOnPlateau("val_accuracy", per_batch=True),
         ConfigurationError, r"ReduceOnPlateau per_batch", r"Validation runs once per epoch"),
    Case("decay-factor-zero", lambda ctx: StepDecay(1, 0), ConfigurationError,
         r"StepDecay gamma", r"e\.g\. gamma=0\.5"),
    Case("plateau-factor-above-one", lambda ctx: ReduceOnPlateau("accuracy", factor=1.5),
         ConfigurationError, r"ReduceOnPlateau factor", r"Pass e\.g\. factor=0\.5"),
    Case("negative-patience", lambda ctx: ReduceOnPlateau("accuracy", patience=-1),
         ConfigurationError, r"ReduceOnPlateau patience", r"Pass e\.g\. patience="),
    Case("schedule-function-not-callable", lambda ctx: OptimiserParamSchedule("alpha", 0.1),
         ConfigurationError, r"OptimiserParamSchedule func", r"lambda epoch"),
]

ALL = TRAIN + RECORDERS + CHECKPOINT + SCHEDULES


def test_catalogue_ids_are_distinct():
    ids = [case.id for case in ALL]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", params(ALL))
def test_bad_input_is_refused_with_a_fix(case, tmp_path, monkeypatch, fake_dist):
    run_case(case, Ctx(tmp_path, monkeypatch, fake_dist))

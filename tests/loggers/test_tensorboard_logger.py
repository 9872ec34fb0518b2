"""TensorBoardLogger: event files read back with TensorBoard's own reader."""

from __future__ import annotations

import errno
import io
import os
import sys

import numpy as np
import pytest
from _logger_runs import DT, HIDDEN, TIMESTEPS, Truth, train
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from spikehooks import ConfigurationError, FolderError, MissingDependencyError
from spikehooks_checkpoint import Checkpoint
from spikehooks_loggers import TensorBoardLogger
from spikehooks_recorders import SpikeRecorder

ACC = "sparse_categorical_accuracy"


def _read(folder):
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0,
                                                               "histograms": 0})
    accumulator.Reload()
    return accumulator


def _scalars(folder, tag):
    return [(e.step, e.value) for e in _read(folder).Scalars(tag)]


def test_epoch_scalars_of_training_and_validation_share_tags():
    truth = Truth()
    train(3, [truth, TensorBoardLogger("tb", histogram_freq=0)], validation_split=0.25)
    train_run = _read("tb/train")
    assert sorted(train_run.Tags()["scalars"]) == sorted(
        ["epoch_time_s", "learning_rate", "loss", ACC])
    for tag in ("loss", "learning_rate", ACC):
        assert _scalars("tb/train", tag) == [
            (e, pytest.approx(truth.rows[e][tag], rel=1e-6)) for e in range(3)]
    assert _scalars("tb/validation", ACC) == [
        (e, pytest.approx(truth.rows[e]["val_" + ACC], rel=1e-6)) for e in range(3)]


def test_weight_histograms_every_n_epochs_hold_the_weights_of_that_epoch():
    truth = Truth()
    train(5, [truth, TensorBoardLogger("tb", histogram_freq=2)])
    events = _read("tb/train").Histograms("weights/conn0/weight")
    assert [e.step for e in events] == [0, 2, 4]
    for event in events:
        weights = truth.weights[event.step]["conn0/weight"].astype(np.float64)
        histogram = event.histogram_value
        assert histogram.num == weights.size == 4 * HIDDEN
        assert histogram.min == pytest.approx(weights.min())
        assert histogram.sum == pytest.approx(weights.sum())


def test_spike_rasters_and_rates_come_from_the_recorders_data():
    logger = TensorBoardLogger("tb", histogram_freq=0)
    (metrics, cb_data), _ = train(
        2, [logger], make_callbacks=lambda hid: [SpikeRecorder(hid, key="hid",
                                                               example_filter=[0, 5])])
    times, ids = cb_data["hid"]
    assert len(times) == 4            # examples 0 and 5, in each of 2 epochs
    run = _read("tb/train")
    images = run.Images("spikes/hid")
    assert [e.step for e in images] == [0, 1]
    for event, last in zip(images, (1, 3), strict=True):
        picture = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
        want = np.zeros((HIDDEN, TIMESTEPS), np.uint8)
        want[ids[last], np.rint(times[last] / DT).astype(int)] = 255
        np.testing.assert_array_equal(picture, want)
        assert want.any()
    rates = run.Histograms("rates_hz/hid")
    for event, entries in zip(rates, ((0, 1), (2, 3)), strict=True):
        spikes = sum(len(ids[k]) for k in entries)
        seconds = len(entries) * TIMESTEPS * DT / 1000.0
        assert event.histogram_value.num == HIDDEN
        assert event.histogram_value.sum == pytest.approx(spikes / seconds)


def test_batch_scalars_use_the_global_batch_as_step():
    train(2, [TensorBoardLogger("tb", update_freq=2, histogram_freq=0)])
    # 24 examples in batches of 4: 6 batches per epoch, every second one written.
    assert [s for s, _ in _scalars("tb/batch", ACC)] == [1, 3, 5, 7, 9, 11]


def test_a_logger_also_among_the_validation_callbacks_writes_only_training_scalars():
    # The same object in both lists: validation passes (epoch and batch hooks, as in mlGeNN)
    # add nothing; their metrics arrive through the training loop's on_validation_end.
    truth = Truth()
    logger = TensorBoardLogger("tb", update_freq=2, histogram_freq=0)
    train(2, [truth, logger], validation_split=0.25, validation_callbacks=[logger])
    # 18 training examples in batches of 4: 5 batches per epoch, every second one written.
    assert [s for s, _ in _scalars("tb/batch", ACC)] == [1, 3, 6, 8]
    assert _scalars("tb/train", ACC) == [
        (e, pytest.approx(truth.rows[e][ACC], rel=1e-6)) for e in range(2)]
    assert _scalars("tb/validation", ACC) == [
        (e, pytest.approx(truth.rows[e]["val_" + ACC], rel=1e-6)) for e in range(2)]


def test_resume_shows_every_epoch_once_with_the_unbroken_runs_values():
    train(5, [Checkpoint(path="ref"), TensorBoardLogger("ref_tb", update_freq="batch")])
    train(4, [Checkpoint(epoch_interval=2), TensorBoardLogger("tb", update_freq="batch")])
    train(5, [Checkpoint(epoch_interval=2), TensorBoardLogger("tb", update_freq="batch")],
          resume_from="latest")
    for run, tag in (("train", "loss"), ("train", ACC), ("batch", ACC)):
        got, want = _scalars(f"tb/{run}", tag), _scalars(f"ref_tb/{run}", tag)
        assert [s for s, _ in got] == [s for s, _ in want] == list(range(len(want)))
        assert got == want
    assert [e.step for e in _read("tb/train").Histograms("weights/conn1/weight")] == [0, 1, 2,
                                                                                     3, 4]


def test_a_folder_of_another_run_is_refused_before_training_unless_overwrite():
    train(2, [TensorBoardLogger("tb")])
    with pytest.raises(FolderError, match=r"TensorBoardLogger\(log_dir='tb'\) folder must be "
                                          r"empty or owned by this run.*overwrite=True"):
        train(3, [TensorBoardLogger("tb")])
    assert [s for s, _ in _scalars("tb/train", "loss")] == [0, 1]
    train(3, [TensorBoardLogger("tb", overwrite=True)])
    # The new run from epoch 0 hides the old one's events.
    assert [s for s, _ in _scalars("tb/train", "loss")] == [0, 1, 2]
    assert len(os.listdir("tb/train")) == 2


def test_evaluate_writes_test_metrics_at_the_last_epoch():
    logger = TensorBoardLogger("tb")
    _, accuracy = train(3, [logger], evaluate_callbacks=[logger])
    assert _scalars("tb/test", ACC) == [(2, pytest.approx(accuracy, rel=1e-6))]


def test_a_failing_write_warns_naming_the_logger_and_training_goes_on(monkeypatch):
    import tensorboardX.record_writer as record_writer

    reference, _ = train(2, [])

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(record_writer.RecordWriter, "write", full)
    with pytest.warns(RuntimeWarning) as record:
        result, _ = train(2, [TensorBoardLogger("tb")])
    assert {str(w.message).split(": OSError")[0] for w in record} == {
        "TensorBoardLogger(log_dir='tb') could not write epoch 0",
        "TensorBoardLogger(log_dir='tb') could not write epoch 1",
    }
    got, want = (next(iter(r[0].values())).result for r in (result, reference))
    assert got == want


def test_a_missing_tensorboardx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(MissingDependencyError,
                       match=r"TensorBoardLogger needs the package 'tensorboardX'.*"
                             r"pip install 'spikehooks-loggers\[tensorboard\]'"):
        TensorBoardLogger("tb")


@pytest.mark.parametrize("kwargs, match", [
    ({"update_freq": "step"}, "update_freq must be 'epoch', 'batch' or an int >= 1; got 'step'"),
    ({"update_freq": 0}, "update_freq must be 'epoch', 'batch' or an int >= 1; got 0"),
    ({"histogram_freq": -1}, "histogram_freq must be an int >= 0; got -1"),
    ({"spike_freq": 1.5}, "spike_freq must be an int >= 0; got 1.5"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        TensorBoardLogger("tb", **kwargs)


def test_a_file_as_log_dir_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigurationError, match="log_dir must name a folder; got the existing"):
        TensorBoardLogger(tmp_path / "f")

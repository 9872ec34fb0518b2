"""The default ``"batch_progress_bar"`` callback."""

from __future__ import annotations

import io

from spikehooks import BatchProgressBar, CallbackList
from spikehooks.callbacks.progress import format_metrics


class Metric:
    def __init__(self, result):
        self.result = result


class Pop:
    def __init__(self, name):
        self.name = name


def _bar(stream):
    return BatchProgressBar(disable=False, file=stream, ascii=True, mininterval=0)


def test_training_bar_describes_the_epoch_and_shows_metrics():
    stream = io.StringIO()
    bar = _bar(stream)
    cbl = CallbackList([bar], mode="train", num_batches=2, global_plugins=False)
    cbl.on_train_begin()
    cbl.on_epoch_begin(3)
    cbl.on_batch_end(0, {Pop("out"): Metric(0.5)})
    cbl.on_batch_end(1, {Pop("out"): Metric(0.75)})
    cbl.on_epoch_end(3, {})
    cbl.on_train_end({})
    text = stream.getvalue()
    assert "Epoch 3" in text
    assert "2/2" in text
    assert "Metric=0.7500" in text


def test_one_bar_is_reset_per_epoch():
    bar = _bar(io.StringIO())
    cbl = CallbackList([bar], mode="train", num_batches=4, global_plugins=False)
    cbl.on_epoch_begin(0)
    first = bar._bar
    cbl.on_batch_end(0, {})
    cbl.on_epoch_begin(1)
    assert bar._bar is first
    assert bar._bar.n == 0
    assert bar._bar.desc.startswith("Epoch 1")


def test_inference_and_validation_descriptions():
    for mode, label in (("test", "Inference"), ("validate", "Validation")):
        stream = io.StringIO()
        cbl = CallbackList([_bar(stream)], mode=mode, num_batches=1, global_plugins=False)
        cbl.on_test_begin()
        cbl.on_batch_end(0, {})
        cbl.on_test_end({})
        assert label in stream.getvalue()


def test_validation_bar_is_reset_per_pass_and_shows_each_pass_metrics():
    # The validation callbacks of train(): on_test_begin once, epoch hooks per pass.
    stream = io.StringIO()
    bar = _bar(stream)
    cbl = CallbackList([bar], mode="validate", num_batches=2, global_plugins=False)
    cbl.on_test_begin()
    first = bar._bar
    passes = []
    for epoch, (a, b) in enumerate(((0.25, 0.5), (0.75, 1.0))):
        cbl.on_epoch_begin(epoch)
        assert bar._bar is first and bar._bar.n == 0
        assert bar._bar.desc.startswith(f"Validation (epoch {epoch})")
        cbl.on_batch_end(0, {Pop("out"): Metric(a)})
        cbl.on_batch_end(1, {Pop("out"): Metric(b)})
        cbl.on_epoch_end(epoch, {Pop("out"): Metric(b)})
        passes.append(stream.getvalue())
    cbl.on_test_end({Pop("out"): Metric(1.0)})
    assert bar._bar is None
    assert "Validation (epoch 0)" in passes[0] and "Metric=0.5000" in passes[0]
    assert "2/2" in passes[0]
    new = passes[1][len(passes[0]):]
    assert "Validation (epoch 1)" in new and "Metric=1.0000" in new and "2/2" in new
    assert "Metric=0.5000" not in new


def test_training_bar_is_made_at_train_begin():
    bar = _bar(io.StringIO())
    cbl = CallbackList([bar], mode="train", num_batches=2, global_plugins=False)
    cbl.on_train_begin()
    made = bar._bar
    assert made is not None and made.desc.startswith("Training")
    cbl.on_epoch_begin(4)
    assert bar._bar is made and made.desc.startswith("Epoch 4")
    cbl.on_train_end({})
    assert bar._bar is None


def test_several_outputs_are_labelled_by_population():
    metrics = {Pop("left"): Metric(0.25), Pop("right"): Metric(1.0)}
    assert format_metrics(metrics) == {"left/Metric": "0.2500", "right/Metric": "1.0000"}


def test_callbacks_default_is_constructible_by_name_without_arguments():
    cbl = CallbackList(["batch_progress_bar"], global_plugins=False)
    assert cbl.implements("on_batch_end")
    assert not cbl.has_timestep_hooks

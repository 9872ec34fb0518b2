"""The compiled pieces of the training step give the NumPy code's bits.

On the compiled backend, the Adam step, the finiteness screen and the scans
of the trace recorder and the backward call run as numba kernels; each must
give exactly what the NumPy code it replaces gives, and training with them
the same weights and metrics.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks import Callback
from spikehooks.compilers._kernel_times import KernelTimes, timed
from spikehooks.errors import NonFiniteError
from spikehooks.optimisers import Adam
from spikehooks.training import FiniteGuard

pytest.importorskip("numba")

from spikehooks.training._update_kernels import (  # noqa: E402
    all_finite,
    latest_hit,
)


def _bits(array):
    return array.view(np.uint32 if array.dtype == np.float32 else np.uint64)


def _assert_same_state(numpy_adam, compiled_adam, numpy_w, compiled_w):
    for key in numpy_w:
        np.testing.assert_array_equal(_bits(compiled_w[key]), _bits(numpy_w[key]))
        for slot in ("m", "v"):
            np.testing.assert_array_equal(_bits(compiled_adam._slots[slot][key]),
                                          _bits(numpy_adam._slots[slot][key]))
    assert compiled_adam.step == numpy_adam.step


@pytest.mark.parametrize("seed", range(4))
def test_compiled_adam_gives_the_numpy_adams_bits_step_by_step(seed):
    rng = np.random.default_rng(seed)
    shapes = {"a/weight": (5, 100), "b/weight": (100, 3), "c/weight": (7,)}
    start = {k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in shapes.items()}
    numpy_w = {k: w.copy() for k, w in start.items()}
    compiled_w = {k: w.copy() for k, w in start.items()}
    numpy_adam, compiled_adam = Adam(1e-3), Adam(1e-3)
    for step in range(40):
        # Gradients over many magnitudes, some entries exactly 0.
        grads = {k: rng.normal(0, 1, s) * 10.0 ** rng.integers(-9, 3, s) * (rng.random(s) > 0.1)
                 for k, s in shapes.items()}
        if step in (10, 25):  # a schedule changing the rate (and beta1) mid-training
            for adam in (numpy_adam, compiled_adam):
                adam.alpha = adam.alpha * 0.37
                adam.beta1 = 0.85 if step == 10 else 0.9
        numpy_adam.update(numpy_w, grads)
        compiled_adam.update_compiled(compiled_w, grads)
        _assert_same_state(numpy_adam, compiled_adam, numpy_w, compiled_w)
    # A checkpointed state loads into fresh arrays; both continue with the same bits.
    state = numpy_adam.state_dict()
    numpy_adam.load_state_dict(state)
    compiled_adam.load_state_dict(state)
    grads = {k: rng.normal(0, 1e-2, s) for k, s in shapes.items()}
    numpy_adam.update(numpy_w, grads)
    compiled_adam.update_compiled(compiled_w, grads)
    _assert_same_state(numpy_adam, compiled_adam, numpy_w, compiled_w)
    assert not np.array_equal(numpy_w["a/weight"], start["a/weight"])


def test_compiled_adam_follows_new_weight_and_moment_arrays_between_steps():
    """Its flat views are made once per array: new weight arrays (a rebuilt backend), moments
    zeroed in place (Deep R) or replaced, and a key first given non-contiguous then
    contiguous all update like the NumPy step."""
    rng = np.random.default_rng(3)
    shapes = {"a/weight": (4, 6), "b/weight": (6, 2)}
    numpy_w = {k: rng.normal(0, 0.5, s).astype(np.float32) for k, s in shapes.items()}
    compiled_w = {k: w.copy() for k, w in numpy_w.items()}
    numpy_adam, compiled_adam = Adam(1e-2), Adam(1e-2)
    for step in range(8):
        if step == 2:  # the same values in new arrays
            compiled_w = {k: w.copy() for k, w in compiled_w.items()}
        if step == 4:
            for adam in (numpy_adam, compiled_adam):
                adam.reset_slots("a/weight", np.eye(4, 6, dtype=bool))
        if step == 5:
            for adam in (numpy_adam, compiled_adam):
                adam.load_state_dict(adam.state_dict())
        given = compiled_w
        if step == 6:  # b through a transposed (non-contiguous) view of a copy
            flipped = np.ascontiguousarray(compiled_w["b/weight"].T)
            given = {"a/weight": compiled_w["a/weight"], "b/weight": flipped.T}
        grads = {k: rng.normal(0, 1, s) for k, s in shapes.items()}
        numpy_adam.update(numpy_w, grads)
        compiled_adam.update_compiled(given, grads)
        if step == 6:
            compiled_w["b/weight"] = given["b/weight"]
        _assert_same_state(numpy_adam, compiled_adam, numpy_w, compiled_w)


def test_compiled_adam_updates_a_non_contiguous_array_in_place_with_the_same_bits():
    rng = np.random.default_rng(7)
    base = rng.normal(0, 1, (6, 8)).astype(np.float32)
    numpy_w, compiled_w = base.copy(), base.copy()
    numpy_adam, compiled_adam = Adam(0.01), Adam(0.01)
    for _ in range(3):
        grad = rng.normal(0, 1, (8, 6))
        numpy_adam.update({"k": numpy_w.T}, {"k": grad})
        compiled_adam.update_compiled({"k": compiled_w.T}, {"k": grad})
    np.testing.assert_array_equal(_bits(compiled_w), _bits(numpy_w))
    assert not np.array_equal(compiled_w, base)


def test_compiled_finiteness_screen_finds_what_the_sums_find():
    big = np.full((2, 3), np.finfo(np.float32).max, dtype=np.float32)  # sum overflows
    bad_w = np.zeros((4, 5), np.float32)
    bad_w[3, 2] = np.nan
    bad_g = np.zeros((5, 3))
    bad_g[1, 0], bad_g[4, 2] = -np.inf, np.nan
    strided = np.zeros((6, 5))[::2]  # not contiguous: screened by its sum
    strided[1, 4] = np.inf
    assert not all_finite(bad_g.reshape(-1)) and all_finite(big.reshape(-1))
    cases = [([big], [np.zeros(3)], [big]), ([bad_w], [np.zeros((4, 5))], [big]),
             ([big], [np.zeros(2), bad_g], [big]), ([big], [strided], [big]),
             ([big], [np.zeros(2)], [big, bad_w])]
    for weights, grads, after in cases:
        outcomes = []
        for compiled in (False, True):
            guard = FiniteGuard("raise", ["c0", "c1"], "out", compiled=compiled)
            try:
                guard.before_update(2, 5, 0.25, grads, weights)
                guard.after_update(2, 5, after)
                outcomes.append(None)
            except NonFiniteError as exc:
                outcomes.append((str(exc), exc.what, exc.connection, exc.index))
        assert outcomes[0] == outcomes[1]
    assert outcomes[1] is not None and outcomes[1][1:] == ("weight", "c1", (3, 2))
    with pytest.raises(NonFiniteError, match="the loss of output 'out' is nan"):
        FiniteGuard("raise", ["c0"], "out", compiled=True).before_update(
            0, 0, float("nan"), [np.zeros(2)], [np.zeros(2, np.float32)])


def test_latest_hit_equals_its_numpy_expression():
    rng = np.random.default_rng(3)
    mask = rng.random((50, 4, 5)) < 0.03
    event = np.where(mask.any(axis=0), np.argmax(mask, axis=0), -1)
    assert (event == -1).any() and (event >= 0).any()
    grad = rng.normal(0, 1, (4, 5)) * (rng.random((4, 5)) < 0.5)
    assert latest_hit(event, grad) == np.max(event, where=grad != 0, initial=-1)
    assert latest_hit(event, np.zeros((4, 5))) == -1


def test_timed_without_profiling_is_one_shared_do_nothing_context():
    assert timed(None, "update") is timed(None, "backward")
    with timed(None, "update"):
        pass
    times = KernelTimes()
    with timed(times, "update"):
        sum(range(1000))
    assert times.seconds["update"] > 0.0


class _NumpyAdam(Adam):
    """Adam through the NumPy update (the compiled step serves Adam itself only)."""


class _Watch(Callback):
    """Records the metric, rate and loss every batch, and halves the rate every third."""

    def __init__(self, log):
        self.log = log

    def set_params(self, compiled_network=None, **kwargs):
        self.net = compiled_network

    def on_batch_begin(self, batch):
        optimiser = self.net.optimisers[0][0]
        if batch % 3 == 2:
            optimiser.alpha = optimiser.alpha * 0.5

    def on_batch_end(self, batch, metrics):
        (metric,) = metrics.values()
        self.log.append((batch, metric.result, metric.total, self.net.optimisers[0][0].alpha,
                         {k: g.copy() for k, g in self.net.last_gradients.items()}))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_training_on_the_compiled_backend_gives_the_numpy_updates_weights_and_metrics(
        batch_size):
    import test_train_loop as loop  # the training loop tests' network and data

    from spikehooks.compilers import EventPropCompiler

    results = []
    for optimiser in (Adam(0.05), _NumpyAdam(0.05)):
        net, inp, out = loop._network()
        compiler = EventPropCompiler(example_timesteps=loop.STEPS,
                                     losses="sparse_categorical_crossentropy",
                                     optimiser=optimiser, batch_size=batch_size,
                                     backend=("compiled", {"num_threads": 1}), rng_seed=3)
        compiled = compiler.compile(net)
        x, y = loop._data(12)
        log: list = []
        with compiled:
            metrics, _ = compiled.train({inp: x}, {out: y}, num_epochs=2,
                                        callbacks=[_Watch(log)])
            assert compiled.optimisers[0][0] is optimiser
            results.append((compiled.backend.get_learnable_state(), log,
                            metrics[out].result, compiled.epoch_loss))
    (weights, log, accuracy, loss), (numpy_weights, numpy_log, numpy_accuracy, numpy_loss) = (
        results)
    for key in numpy_weights:
        np.testing.assert_array_equal(_bits(weights[key]), _bits(numpy_weights[key]))
    assert (accuracy, loss) == (numpy_accuracy, numpy_loss)
    assert len(log) == len(numpy_log) == 2 * (12 // batch_size)
    for entry, numpy_entry in zip(log, numpy_log, strict=True):
        assert entry[:4] == numpy_entry[:4]
        for key, grad in numpy_entry[4].items():
            np.testing.assert_array_equal(_bits(entry[4][key]), _bits(grad))
    assert log[-1][3] < 0.05  # the rate changed during training


def test_compiled_relative_mse_drive_and_accuracy_give_numpys_bits():
    from spikehooks.losses import RelativeMeanSquareError
    from spikehooks.metrics import SparseCategoricalAccuracy
    from spikehooks.training import ForwardResult
    from spikehooks.training._drive import output_drive
    from spikehooks.training._drive_kernels import count_correct, numpy_sum, ttfs_relative_mse

    rng = np.random.default_rng(11)
    # Row sums under and over NumPy's 8-way unrolling, totals over its 128-entry block.
    for batch, k in [(1, 3), (32, 3), (5, 1), (7, 8), (3, 17), (64, 10), (9, 130)]:
        for silent in (False, True):
            num_steps, dt, delta = 300, 0.1, 0.5
            event = rng.integers(-1, num_steps, (batch, k)).astype(np.int64)
            if silent:
                event[:, 0] = -1
            readout = np.where(event >= 0, -(event * dt) + rng.normal(0, 1e-3, (batch, k)),
                               np.finfo(np.float32).min).astype(np.float32)
            labels = rng.integers(0, k, batch).astype(np.int64)
            fwd = ForwardResult([], [], readout, event, [])
            value, drive = output_drive("first_spike_time", fwd, labels,
                                        RelativeMeanSquareError(delta), num_steps=num_steps,
                                        dt=dt)
            grad = np.empty((batch, k))
            got = ttfs_relative_mse(readout, event, labels, num_steps * dt, delta, grad)
            assert np.float64(got).tobytes() == np.float64(value).tobytes()
            np.testing.assert_array_equal(_bits(grad), _bits(drive.spike_time_grad))
            metric = SparseCategoricalAccuracy()
            metric.update(labels, readout)
            assert count_correct(readout, labels) == metric.correct
    # NumPy's argmax: the first maximum, a NaN before anything.
    readout = np.array([[1, np.nan, 3, np.nan], [np.nan, 0, 5, 5], [2, 7, 7, 1]], np.float32)
    for labels in ([1, 0, 1], [2, 2, 2], [3, 0, 2]):
        metric = SparseCategoricalAccuracy()
        metric.update(np.array(labels), readout)
        assert count_correct(readout, np.array(labels, np.int64)) == metric.correct
    for n in [1, 7, 8, 9, 127, 128, 129, 300, 1000, 9000]:
        values = rng.normal(0, 1, n) * 10.0 ** rng.integers(-6, 6, n)
        assert np.float64(numpy_sum(values)).tobytes() == values.sum().tobytes()


def test_compiled_loss_and_accuracy_train_to_the_numpy_codes_weights_and_metrics(monkeypatch):
    from spikehooks.training import _drive_kernels

    calls = {"ttfs_relative_mse": 0, "count_correct": 0}

    def counting(name):
        kernel = getattr(_drive_kernels, name)

        def counted(*args):
            calls[name] += 1
            return kernel(*args)

        return counted

    for name in calls:
        monkeypatch.setattr(_drive_kernels, name, counting(name))
    from spikehooks import InputLayer, Layer, SequentialNetwork
    from spikehooks.compilers import EventPropCompiler
    from spikehooks.connectivity import Dense
    from spikehooks.data import generate_yin_yang_dataset
    from spikehooks.initializers import Normal
    from spikehooks.losses import RelativeMeanSquareError
    from spikehooks.metrics import SparseCategoricalAccuracy
    from spikehooks.neurons import LeakyIntegrateFire, SpikeInput
    from spikehooks.synapses import Exponential

    class PlainLoss(RelativeMeanSquareError):
        """Through output_drive's NumPy code (the compiled drive serves the class itself)."""

    class PlainAccuracy(SparseCategoricalAccuracy):
        """Through Metric.update."""

    def lif(**kwargs):
        return LeakyIntegrateFire(tau_mem=20.0, relative_reset=False,
                                  integrate_during_refrac=False, scale_i=True, **kwargs)

    dt = 0.1
    # Yin-Yang as in mlGeNN's example (and benchmarks/compiled.py), 16 examples.
    spikes, y = generate_yin_yang_dataset(16, 30.0 - 4 * dt, 2 * dt, seed=0)
    results = []
    for loss, metric in ((RelativeMeanSquareError(2.0), SparseCategoricalAccuracy()),
                         (PlainLoss(2.0), PlainAccuracy())):
        # (2 epochs x 4 batches each)
        net = SequentialNetwork()
        with net:
            inp = InputLayer(SpikeInput(max_spikes=4 * 5), 5)
            Layer(Dense(Normal(mean=1.5, sd=0.78)), lif(), 30, Exponential(5.0, scale_i=True))
            out = Layer(Dense(Normal(mean=0.93, sd=0.1)), lif(readout="first_spike_time"), 3,
                        Exponential(5.0, scale_i=True))
        compiler = EventPropCompiler(300, loss, optimiser=("adam", {"alpha": 0.01}),
                                     batch_size=4, dt=dt,
                                     backend=("compiled", {"num_threads": 1}), rng_seed=2)
        compiled = compiler.compile(net)
        with compiled:
            metrics, _ = compiled.train({inp: spikes}, {out: y}, num_epochs=2,
                                        metrics=metric, callbacks=[])
            results.append((compiled.backend.get_learnable_state(), metrics[out].correct,
                            metrics[out].total, compiled.epoch_loss))
    (weights, correct, total, loss), (plain_w, plain_correct, plain_total, plain_loss) = results
    for key in plain_w:
        np.testing.assert_array_equal(_bits(weights[key]), _bits(plain_w[key]))
    assert (correct, total, loss) == (plain_correct, plain_total, plain_loss)
    assert total == 16 and loss > 0.0  # (metrics restart every epoch)
    # The compiled loss and count served the first run, every batch, and only it.
    assert calls == {"ttfs_relative_mse": 8, "count_correct": 8}

"""EventPropCompiler and compiled_net.train(): loop, hooks, state, reproducibility."""

from __future__ import annotations

import io

import numpy as np
import pytest
from _forward_trace import record_forward

from spikehooks import BatchProgressBar, Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.callbacks.progress import format_metrics
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.connectivity import Dense
from spikehooks.data.spikes import preprocess_spikes
from spikehooks.errors import CallbackError, ConfigurationError
from spikehooks.initializers import Normal
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.synapses import Delta, Exponential

N_IN, N_HID, N_OUT, STEPS = 10, 30, 2, 20


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, N_IN))
    labels = (x[:, :5].sum(1) > x[:, 5:].sum(1)).astype(np.int64)
    spikes = [preprocess_spikes(18.0 * (1.0 - row), np.arange(N_IN), N_IN) for row in x]
    return spikes, labels


def _network(out_synapse=None, readout="avg_var"):
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=16 * N_IN), N_IN)
        Layer(Dense(Normal(mean=1.5, sd=0.8)),
              LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, scale_i=True),
              N_HID, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.0, sd=0.5)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout=readout), N_OUT,
                    out_synapse or Exponential(5.0, scale_i=True))
    return net, inp, out


def _compiled(batch_size=16, seed=0, **kwargs):
    net, inp, out = _network(kwargs.pop("out_synapse", None), kwargs.pop("readout", "avg_var"))
    compiler = EventPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.05}), batch_size=batch_size,
                                 rng_seed=seed, **kwargs)
    return compiler.compile(net), inp, out


class _Log(Callback):
    def __init__(self, log, tag, stop_at=None):
        self.log, self.tag, self.stop_at = log, tag, stop_at

    def set_params(self, compiled_network=None, mode=None, **kwargs):
        self.net = compiled_network
        self.log.append((self.tag, "set_params", mode))

    def on_train_begin(self):
        self.log.append((self.tag, "train_begin"))

    def on_train_end(self, metrics):
        self.log.append((self.tag, "train_end"))

    def on_epoch_begin(self, epoch):
        self.log.append((self.tag, "epoch_begin", epoch))

    def on_epoch_end(self, epoch, metrics):
        self.log.append((self.tag, "epoch_end", epoch))

    def on_validation_end(self, epoch, metrics):
        self.log.append((self.tag, "validation_end", epoch, metrics is self.net.validation_metrics))

    def on_batch_begin(self, batch):
        self.log.append((self.tag, "batch_begin", batch))

    def on_batch_end(self, batch, metrics):
        self.log.append((self.tag, "batch_end", batch))
        if self.stop_at == batch:
            self.net.stop_training = True

    def on_test_begin(self):
        self.log.append((self.tag, "test_begin"))

    def on_test_end(self, metrics):
        self.log.append((self.tag, "test_end"))


def test_training_reduces_the_loss_and_learns_the_task():
    net, inp, out = _compiled()
    x, y = _data(96)
    losses = []

    class Loss(Callback):
        def on_epoch_end(self, epoch, metrics):
            losses.append(net.epoch_loss)

    with net:
        metrics, _ = net.train({inp: x}, {out: y}, num_epochs=15, callbacks=[Loss()])
    assert losses[-1] < losses[0] - 0.03
    assert metrics[out].result > 0.75


def test_validation_callbacks_get_mlgenn_hook_sequence():
    # mlGeNN 2.4.0's train(): validation callbacks get on_test_begin once before the first
    # epoch, epoch hooks around every validation pass and on_test_end once after training.
    net, inp, out = _compiled()
    x, y = _data(40)
    log = []
    with net:
        result = net.train({inp: x}, {out: y}, num_epochs=2, callbacks=[_Log(log, "t")],
                           validation_callbacks=[_Log(log, "v")], validation_split=0.2)
    assert len(result) == 4

    def epoch(e):
        return [("t", "epoch_begin", e), ("t", "batch_begin", 0), ("t", "batch_end", 0),
                ("t", "batch_begin", 1), ("t", "batch_end", 1), ("t", "epoch_end", e),
                ("v", "epoch_begin", e), ("v", "batch_begin", 0), ("v", "batch_end", 0),
                ("v", "epoch_end", e), ("t", "validation_end", e, True)]

    assert log == [("t", "set_params", "train"), ("v", "set_params", "validate"),
                   ("t", "train_begin"), ("v", "test_begin"), *epoch(0), *epoch(1),
                   ("t", "train_end"), ("v", "test_end")]
    assert result[1][out].total == 8


def test_validation_epoch_end_gets_each_pass_metrics_and_test_end_the_last():
    # A callback written for mlGeNN reads each validation pass's metrics in on_epoch_end;
    # they must be that pass's alone: what evaluate() gives for the weights of that epoch.
    net, inp, out = _compiled()
    x, y = _data(40)
    states, passes, ends = [], [], []

    class Weights(Callback):
        def on_epoch_end(self, epoch, metrics):
            states.append(net.state_dict())

    class Validation(Callback):
        def on_epoch_end(self, epoch, metrics):
            passes.append((epoch, metrics is net.validation_metrics, metrics[out].total,
                           metrics[out].result))

        def on_test_end(self, metrics):
            ends.append((metrics, metrics[out].total, metrics[out].result))

    with net:
        _, val_metrics, _, _ = net.train({inp: x}, {out: y}, num_epochs=3,
                                         callbacks=[Weights()],
                                         validation_callbacks=[Validation()],
                                         validation_split=0.2)
    assert [p[:3] for p in passes] == [(0, True, 8), (1, True, 8), (2, True, 8)]
    assert len(ends) == 1 and ends[0][0] is val_metrics
    assert ends[0][1:] == (8, passes[-1][3]) and val_metrics[out].result == passes[-1][3]
    fresh, inp2, out2 = _compiled()
    for state, (_, _, _, accuracy) in zip(states, passes, strict=True):
        fresh.load_state_dict(state)
        with fresh:
            metrics, _ = fresh.evaluate({inp2: x[32:]}, {out2: y[32:]}, callbacks=[])
        assert metrics[out2].total == 8
        assert metrics[out2].result == accuracy
    # Three different networks were validated: the weights moved between the passes.
    key = sorted(states[0]["learnable"])[0]
    assert len({s["learnable"][key].tobytes() for s in states}) == 3


def test_an_error_in_a_validation_epoch_hook_names_it_and_keeps_the_validation_data():
    net, inp, out = _compiled()
    x, y = _data(40)

    class Seen(Callback):
        key = "seen"

        def set_params(self, data, **kwargs):
            self.rows = data.setdefault(self.key, [])

        def on_epoch_end(self, epoch, metrics):
            self.rows.append(epoch)

        def get_data(self):
            return self.key, self.rows

    class Fails(Callback):
        def on_epoch_end(self, epoch, metrics):
            if epoch == 1:
                raise ValueError("no pass 1")

    with net, pytest.raises(CallbackError, match=r"Fails\.on_epoch_end raised ValueError") as info:
        net.train({inp: x}, {out: y}, num_epochs=3, callbacks=[],
                  validation_callbacks=[Seen(), Fails()], validation_split=0.2)
    assert info.value.hook == "on_epoch_end" and info.value.cb_data == {"seen": [0, 1]}


def test_validation_progress_bar_shows_each_pass_with_its_metrics():
    net, inp, out = _compiled()
    x, y = _data(40)
    stream = io.StringIO()
    shown = []

    class Shown(Callback):
        def on_epoch_end(self, epoch, metrics):
            shown.append((epoch, stream.getvalue(), format_metrics(metrics)))

    bar = BatchProgressBar(disable=False, file=stream, ascii=True, mininterval=0)
    with net:
        net.train({inp: x}, {out: y}, num_epochs=3, callbacks=[],
                  validation_callbacks=[bar, Shown()], validation_split=0.2)
    before = ""
    for epoch, text, labels in shown:
        new = text[len(before):]
        assert f"Validation (epoch {epoch})" in new and "1/1" in new
        assert all(f"{label}={value}" in new for label, value in labels.items())
        before = text
    assert [e for e, _, _ in shown] == [0, 1, 2] and bar._bar is None


def test_stop_training_ends_after_the_current_batch():
    net, inp, out = _compiled()
    x, y = _data(48)
    log = []
    with net:
        net.train({inp: x}, {out: y}, num_epochs=3, callbacks=[_Log(log, "t", stop_at=1)])
    assert log[-3:] == [("t", "batch_begin", 1), ("t", "batch_end", 1), ("t", "train_end")]
    assert ("t", "epoch_end", 0) not in log
    assert net.state_dict()["epoch"] == 0


def test_same_seed_gives_bitwise_identical_weights():
    x, y = _data(48)
    finals = []
    for _ in range(2):
        net, inp, out = _compiled(seed=3)
        with net:
            net.train({inp: x}, {out: y}, num_epochs=2, callbacks=[])
        finals.append(net.backend.get_learnable_state())
    for key in finals[0]:
        assert finals[0][key].tobytes() == finals[1][key].tobytes()


def test_state_dict_resumes_bitwise():
    x, y = _data(48)
    straight, inp, out = _compiled(seed=5)
    with straight:
        straight.train({inp: x}, {out: y}, num_epochs=2, callbacks=[])
    first, inp1, out1 = _compiled(seed=5)
    with first:
        first.train({inp1: x}, {out1: y}, num_epochs=1, callbacks=[])
        state = first.state_dict()
    assert state["epoch"] == 1
    second, inp2, out2 = _compiled(seed=99)
    second.load_state_dict(state)
    with second:
        second.train({inp2: x}, {out2: y}, num_epochs=1, start_epoch=1, callbacks=[])
    expected, got = straight.backend.get_learnable_state(), second.backend.get_learnable_state()
    for key in expected:
        assert expected[key].tobytes() == got[key].tobytes()


def test_state_taken_at_epoch_end_points_at_the_next_epoch():
    net, inp, out = _compiled()
    x, y = _data(32)
    seen = []

    class Saver(Callback):
        def on_epoch_end(self, epoch, metrics):
            seen.append((epoch, net.state_dict()["epoch"]))

    with net:
        net.train({inp: x}, {out: y}, num_epochs=2, callbacks=[Saver()])
    assert seen == [(0, 1), (1, 2)]


def test_resume_uses_the_restoring_callback():
    net, inp, out = _compiled()
    x, y = _data(32)
    calls = []

    class Restorer(Callback):
        def restore(self, compiled_network, resume_from):
            calls.append(resume_from)
            return 2

    log = []
    with net:
        net.train({inp: x}, {out: y}, num_epochs=3, callbacks=[Restorer(), _Log(log, "t")],
                  resume_from="latest")
    assert calls == ["latest"]
    assert [e for e in log if e[1] == "epoch_begin"] == [("t", "epoch_begin", 2)]


def test_resume_without_a_restoring_callback_is_an_error():
    net, inp, out = _compiled()
    x, y = _data(16)
    with net, pytest.raises(ConfigurationError, match="Add a Checkpoint callback"):
        net.train({inp: x}, {out: y}, num_epochs=1, callbacks=[], resume_from="latest")


def test_training_forward_spikes_match_inference():
    train_net, inp, out = _compiled(batch_size=8)
    x, _ = _data(8)
    with train_net:
        trained_spikes = record_forward(train_net, {inp: x}, 8, STEPS).spikes[1].copy()
    infer = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=8).compile(train_net.network)
    infer.backend.set_learnable_state(train_net.backend.get_learnable_state())
    hidden = train_net.network.populations[1]
    seen = np.zeros_like(trained_spikes)
    infer.backend.add_step_observer(
        lambda t: seen.__setitem__(t, infer.backend.get_spike_mask(hidden))
    )
    with infer:
        infer.start_batch(np.arange(8), {inp: x})
        infer.backend.run(STEPS)
    assert trained_spikes.sum() > 50
    np.testing.assert_array_equal(seen, trained_spikes)


@pytest.mark.parametrize(("readout", "accumulation"),
                         [("avg_var", "sequential"), ("avg_var", "blas"),
                          ("avg_var_exp_weight", "blas"), ("max_var", "sequential")])
def test_array_kernel_forward_equals_the_backend_bitwise(readout, accumulation):
    from spikehooks.training._forward import forward

    net, inp, out = _compiled(batch_size=8, backend=("numpy", {"accumulation": accumulation}),
                              readout=readout)
    x, _ = _data(8)
    with net:
        recorded = record_forward(net, {inp: x}, 8, STEPS)
    weights = [net.backend.get_weight(c) for c in net.network.connections]
    kernel = forward(net.graph, weights, recorded.spikes[0], accumulation=accumulation)
    np.testing.assert_array_equal(kernel.spikes[1], recorded.spikes[1])
    np.testing.assert_array_equal(kernel.denominators[1], recorded.denominators[1])
    np.testing.assert_array_equal(kernel.currents[1], recorded.currents[1])
    assert kernel.readout.tobytes() == recorded.readout.tobytes()


def test_absent_synapses_of_sparse_connectivity_stay_zero():
    from spikehooks.connectivity import FixedProbability

    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=16 * N_IN), N_IN)
        hidden = Layer(FixedProbability(0.5, Normal(mean=2.5, sd=0.8)),
                       LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, scale_i=True),
                       N_HID, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.0, sd=0.5)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"), N_OUT,
                    Exponential(5.0, scale_i=True))
    compiled = EventPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                                 batch_size=16).compile(net)
    x, y = _data(32)
    mask = compiled.backend.get_weight_mask(hidden.connection)
    before = compiled.backend.get_weight(hidden.connection).copy()
    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
    after = compiled.backend.get_weight(hidden.connection)
    assert not after[~mask].any()
    assert not np.array_equal(before[mask], after[mask])


def test_optimiser_hyperparameters_changed_by_a_callback_take_effect():
    net, inp, out = _compiled()
    x, y = _data(32)

    class Freeze(Callback):
        def on_batch_begin(self, batch):
            net.optimisers[0][0].alpha = 0.0

    before = net.backend.get_learnable_state()
    with net:
        net.train({inp: x}, {out: y}, num_epochs=1, callbacks=[Freeze()])
    after = net.backend.get_learnable_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert net.optimisers[0][0].step == 2


def test_delta_synapse_into_a_spiking_layer_is_rejected():
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(max_spikes=10), 3)
        Layer(Dense(1.0), LeakyIntegrateFire(relative_reset=False), 4, Delta())
        Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2, Exponential(5.0))
    compiler = EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy")
    with pytest.raises(ConfigurationError, match="Delta"):
        compiler.compile(net)


def test_relative_reset_warns():
    net = SequentialNetwork()
    with net:
        InputLayer(SpikeInput(max_spikes=10), 3)
        Layer(Dense(1.0), LeakyIntegrateFire(), 4, Exponential(5.0))
        Layer(Dense(1.0), LeakyIntegrate(readout="sum_var"), 2, Exponential(5.0))
    compiler = EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="relative_reset"):
        compiler.compile(net)


def test_first_spike_time_output_trains_with_relative_mse():
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=16 * N_IN), N_IN)
        Layer(Dense(Normal(mean=1.5, sd=0.8)),
              LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, scale_i=True),
              N_HID, Exponential(5.0, scale_i=True))
        out = Layer(Dense(Normal(mean=0.9, sd=0.1)),
                    LeakyIntegrateFire(tau_mem=20.0, relative_reset=False, scale_i=True,
                                       readout="first_spike_time"),
                    N_OUT, Exponential(5.0, scale_i=True))
    from spikehooks.losses import RelativeMeanSquareError

    compiled = EventPropCompiler(example_timesteps=STEPS, losses=RelativeMeanSquareError(2.0),
                                 batch_size=16).compile(net)
    x, y = _data(32)
    before = compiled.backend.get_learnable_state()
    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
    after = compiled.backend.get_learnable_state()
    assert compiled.epoch_loss > 0.0
    assert all(not np.array_equal(before[k], after[k]) for k in before)


def test_upper_regulariser_pushes_firing_down():
    from spikehooks.training._backward import OutputDrive, backward

    net, inp, out = _compiled(batch_size=8, reg_lambda_upper=1.0, reg_nu_upper=0.0)
    x, _ = _data(8)
    with net:
        fwd = record_forward(net, {inp: x}, 8, STEPS)
    terms = net._regulariser(net._spike_counts(fwd, 8), 8, 8)
    counts = fwd.spikes[1].sum(axis=(0, 1))
    # mlGeNN: lambda_V -= lambda (C - B nu) / B^2, i.e. q += tau_m * scale * that (avg_var: tau_m).
    np.testing.assert_allclose(terms[1][0], 20.0 * 20.0 * counts / 64.0)
    zero = np.zeros((8, N_OUT))
    weights = [net.backend.get_weight(c) for c in net.network.connections]
    grads = backward(net.graph, weights, fwd, OutputDrive(zero, zero, zero), reg=terms).gradients
    assert grads[0].sum() > 0  # descending it lowers the input weights of firing neurons


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"per_timestep_loss": "yes"}, "per_timestep_loss must be True or False"),
     ({"min_jump_denominator": 0.0}, "min_jump_denominator"),
     ({"reg_lambda_upper": -1.0}, "reg_lambda_upper"),
     ({"delay_learn_conns": ["conn0"]}, "delay_learn_conns must be a sequence of Connection"),
     ({"delay_optimiser": 5}, "delay_optimiser must be an Optimiser"),
     ({"optimiser": 5}, "optimiser must be an Optimiser")],
)
def test_unsupported_or_invalid_settings_are_rejected_up_front(kwargs, match):
    with pytest.raises(ConfigurationError, match=match):
        EventPropCompiler(example_timesteps=10, losses="sparse_categorical_crossentropy",
                          **kwargs)


def test_avg_var_exp_weight_readout_is_mlgenns_exponentially_weighted_mean():
    """The backend's VAvg equals sum_n exp(-n / T) V_n / T over the recorded trace."""
    from spikehooks import Callback as _Cb

    class _Trace(_Cb):
        def __init__(self):
            self.v = []

        def set_params(self, compiled_network=None, **kwargs):
            self.net = compiled_network

        def on_timestep_end(self, timestep):
            self.v.append(self.net.backend.get_var(out_pop, "V").copy())

    net, inp, out_pop = _compiled(batch_size=4, readout="avg_var_exp_weight")
    x, labels = _data(4)
    trace = _Trace()
    with net:
        metrics, _ = net.evaluate({inp: x}, {out_pop: labels}, callbacks=[trace])
        readout = net.backend.get_readout(out_pop).reshape(4, N_OUT).astype(np.float64)
    v = np.array(trace.v, dtype=np.float64)  # (T, batch, N_OUT)
    weights = np.exp(-np.arange(STEPS) / STEPS) / STEPS
    np.testing.assert_allclose(readout, np.einsum("t,tbk->bk", weights, v), rtol=1e-5,
                               atol=1e-6)
    assert np.abs(readout).max() > 1e-3


def test_lower_regulariser_pushes_quiet_neurons_up_and_upper_ignores_them():
    """mlGeNN's meaning: below reg_nu_upper spikes per example the *lower* strength acts
    (pushing firing up); above it the upper one.  avg_var_exp_weight has avg_var's scale."""
    from spikehooks.training._backward import OutputDrive, backward

    nu = 1000.0  # far above any neuron's count: every neuron is "too quiet"
    for lower, upper in ((1.0, 0.0), (0.0, 1.0)):
        net, inp, out = _compiled(batch_size=8, reg_lambda_lower=lower, reg_lambda_upper=upper,
                                  reg_nu_upper=nu, readout="avg_var_exp_weight")
        x, _ = _data(8)
        with net:
            fwd = record_forward(net, {inp: x}, 8, STEPS)
        terms = net._regulariser(net._spike_counts(fwd, 8), 8, 8)
        counts = fwd.spikes[1].sum(axis=(0, 1))
        np.testing.assert_allclose(terms[1][0], 20.0 * 20.0 * lower * (counts - 8 * nu) / 64.0)
        zero = np.zeros((8, N_OUT))
        weights = [net.backend.get_weight(c) for c in net.network.connections]
        grads = backward(net.graph, weights, fwd, OutputDrive(zero, zero, zero),
                         reg=terms).gradients
        if lower:
            assert grads[0].sum() < 0  # descending it raises the input weights
        else:
            assert not grads[0].any()


def test_validation_callbacks_count_the_held_out_examples_from_zero():
    """A validation split is the data set's tail; its recorders' filters index it from 0."""
    recorders = pytest.importorskip("spikehooks_recorders")
    net, inp, out = _compiled(batch_size=3)
    x, y = _data(20)  # validation_split=0.2 holds out data-set examples 16..19
    every = recorders.VarRecorder(out, "v", key="every")
    second = recorders.VarRecorder(out, "v", key="second", example_filter=[1])
    with net:
        *_, v_data = net.train({inp: x}, {out: y}, num_epochs=1, validation_split=0.2,
                               validation_callbacks=[every, second])
    assert len(v_data["every"]) == 4 and len(v_data["second"]) == 1
    np.testing.assert_array_equal(v_data["second"][0], v_data["every"][1])
    # An index past the held-out examples is refused before training, naming the count.
    beyond = recorders.VarRecorder(out, "v", key="beyond", example_filter=[17])
    with net, pytest.raises(ConfigurationError, match=r"examples 0\.\.3 of this run; got 17"):
        net.train({inp: x}, {out: y}, num_epochs=1, validation_split=0.2,
                  validation_callbacks=[beyond])


@pytest.mark.parametrize("split, held", [(0.15, 2), (0.25, 2), (0.35, 4), (0.05, 0)])
def test_validation_split_holds_out_from_mlgenns_split_point(split, held):
    """The held-out tail starts at round((1 - split) * N), halves to even (mlGeNN's cut):
    0.15 of 10 holds out 2 where a floor of 1.5 would give 1, 0.05 holds out none."""
    from spikehooks.data import split_dataset

    net, inp, out = _compiled(batch_size=1)
    x, y = _data(10)
    _, tail = split_dataset({"y": np.arange(10)}, split)
    assert len(tail["y"]) == held
    if held == 0:
        with net, pytest.raises(ConfigurationError, match="holds out none"):
            net.train({inp: x}, {out: y}, num_epochs=1, validation_split=split)
        return
    seen = []

    class Count(Callback):
        def on_batch_end(self, batch, metrics):
            seen.append(batch)

    with net:
        net.train({inp: x}, {out: y}, num_epochs=1, validation_split=split,
                  validation_callbacks=[Count()])
    # Batch size 1: one validation batch per held-out example.
    assert len(seen) == held

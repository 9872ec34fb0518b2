"""e-prop training end to end: learning, and the callbacks of the training loop unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from _eprop_nets import PATTERN_STEPS as STEPS
from _eprop_nets import make, pattern_data, raster, to_spikes

from spikehooks import Connection, Network, Population
from spikehooks.compilers import EPropCompiler, InferenceCompiler
from spikehooks.compilers.eprop_compiler import default_params
from spikehooks.connectivity import Dense
from spikehooks.initializers import Normal
from spikehooks.neurons import (
    AdaptiveLeakyIntegrateFire,
    LeakyIntegrate,
    LeakyIntegrateFire,
    SpikeInput,
)
from spikehooks_checkpoint import Checkpoint
from spikehooks_recorders import SpikeRecorder, VarRecorder
from spikehooks_schedules import OptimiserParamSchedule


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _classifier(seed: int = 0, adaptive: bool = False):
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=100000), 12, name="inp")
        neuron = (AdaptiveLeakyIntegrateFire(v_thresh=0.6, tau_mem=20.0, tau_refrac=3.0,
                                             beta=0.2, tau_adapt=100.0) if adaptive else
                  LeakyIntegrateFire(v_thresh=0.6, tau_mem=20.0, tau_refrac=3.0))
        hid = Population(neuron, 32, name="hid")
        out = Population(LeakyIntegrate(tau_mem=20.0, readout="sum_var"), 3, name="out")
        Connection(inp, hid, Dense(Normal(sd=1.0 / np.sqrt(12))), name="in_hid")
        Connection(hid, hid, Dense(Normal(sd=1.0 / np.sqrt(32))), name="hid_hid")
        Connection(hid, out, Dense(Normal(sd=1.0 / np.sqrt(32))), name="hid_out")
    return network, inp, out


def test_a_recurrent_lif_network_learns_to_classify_well_above_chance():
    x, y = pattern_data(48, 0)
    x_test, y_test = pattern_data(30, 1)
    network, inp, out = _classifier()
    compiled = EPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                             optimiser=("adam", {"alpha": 0.01}), batch_size=8,
                             rng_seed=2).compile(network)
    with compiled:
        before, _ = compiled.evaluate({inp: x_test}, {out: y_test}, callbacks=[])
        first = None
        for epoch in range(15):
            metrics, _ = compiled.train({inp: x}, {out: y}, num_epochs=1, start_epoch=epoch,
                                        callbacks=[])
            first = compiled.epoch_loss if first is None else first
        after, _ = compiled.evaluate({inp: x_test}, {out: y_test}, callbacks=[])
    assert compiled.epoch_loss < 0.5 * first
    assert metrics[out].result >= 0.9
    assert after[out].result >= 0.9 > before[out].result + 0.3   # chance is 1/3


def test_per_step_regression_error_falls():
    compiled, (inp, _, out), _ = make(categorical=False, batch_size=1, c_reg=0.0,
                                      optimiser=("adam", {"alpha": 0.01}), tau_refrac=None)
    t = np.arange(STEPS)
    target = np.stack([np.sin(t / 6.0), np.cos(t / 9.0), 0.5 * np.ones(STEPS)], axis=1)[None]
    spikes = to_spikes(raster(3, STEPS, 1, rate=0.3))
    errors = []
    with compiled:
        for epoch in range(40):
            metrics, _ = compiled.train({inp: spikes}, {out: target}, num_epochs=1,
                                        start_epoch=epoch, callbacks=[])
            errors.append(metrics[out].result)
    # The default metric is the mean square error of V over every step.
    assert errors[-1] < 0.2 * errors[0]
    np.testing.assert_allclose(
        errors[-1], np.mean((compiled.eprop.v_out[:, 0] - target[0]) ** 2), rtol=1e-6)


@pytest.mark.parametrize("backend, adaptive", [("numpy", False), ("compiled", False),
                                               ("compiled", True)])
def test_checkpoint_resume_reproduces_the_uninterrupted_run_bit_for_bit(backend, adaptive):
    if backend == "compiled":
        pytest.importorskip("numba")
    x, y = pattern_data(16, 0)

    def train(num_epochs, callbacks, resume_from=None):
        network, inp, out = _classifier(adaptive=adaptive)
        compiled = EPropCompiler(example_timesteps=STEPS,
                                 losses="sparse_categorical_crossentropy", batch_size=4,
                                 c_reg=1.0, rng_seed=5, backend=backend).compile(network)
        with compiled:
            compiled.train({inp: x}, {out: y}, num_epochs=num_epochs, callbacks=callbacks,
                           resume_from=resume_from)
            return compiled.state_dict()

    want = train(4, [Checkpoint(path="ref")])
    train(2, [Checkpoint()])
    got = train(4, [Checkpoint()], resume_from="latest")
    assert sorted(got["learnable"]) == ["hid_hid/weight", "hid_out/weight", "in_hid/weight",
                                        "out/bias"]
    for key, array in want["learnable"].items():
        np.testing.assert_array_equal(got["learnable"][key], array)
    np.testing.assert_array_equal(got["eprop_favg"]["hid"], want["eprop_favg"]["hid"])
    assert np.abs(want["learnable"]["out/bias"]).max() > 0.0
    assert got["optimisers"][0]["step"] == want["optimisers"][0]["step"] == 16
    # The state carried between batches is part of the checkpoint (docs/eprop.md).
    for key, array in want["eprop_carry"]["traces"].items():
        np.testing.assert_array_equal(got["eprop_carry"]["traces"][key], array, err_msg=key)
    for key, entry in want["eprop_carry"]["backend"].items():
        for name, array in entry.items():
            np.testing.assert_array_equal(got["eprop_carry"]["backend"][key][name], array)
    assert np.abs(want["eprop_carry"]["traces"]["ef:hid_hid"]).max() > 0.0


def test_resuming_without_the_carried_state_would_not_continue_the_run():
    # Why checkpoints hold e-prop's carried state: restoring everything else but
    # starting the neurons and traces from rest gives other weights after one epoch.
    x, y = pattern_data(16, 0)

    def compiled_net():
        network, inp, out = _classifier()
        return EPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                             batch_size=4, c_reg=1.0, rng_seed=5).compile(network), inp, out

    compiled, inp, out = compiled_net()
    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
        saved = compiled.state_dict()
        compiled.train({inp: x}, {out: y}, num_epochs=1, start_epoch=1, callbacks=[])
        want = compiled.state_dict()["learnable"]
    results = {}
    for keep in (True, False):
        compiled, inp, out = compiled_net()
        with compiled:
            compiled.load_state_dict(saved if keep else
                                     {k: v for k, v in saved.items() if k != "eprop_carry"})
            compiled.train({inp: x}, {out: y}, num_epochs=1, start_epoch=1, callbacks=[])
            results[keep] = compiled.state_dict()["learnable"]
    for key, array in want.items():
        np.testing.assert_array_equal(results[True][key], array)
    assert any(not np.array_equal(results[False][k], want[k]) for k in want)


def test_optimiser_schedule_and_recorders_work_unchanged():
    spikes = raster(4, STEPS, 1, rate=0.3)
    target = np.random.default_rng(0).normal(0.0, 1.0, (1, STEPS, 3))
    compiled, (inp, hid, out), _ = make(categorical=False, batch_size=1,
                                        optimiser=("adam", {"alpha": 0.01}))
    seen = []

    def schedule(epoch, alpha):
        seen.append((epoch, alpha))
        return 0.01 * 0.5 ** epoch

    with compiled:
        _, data = compiled.train(
            {inp: to_spikes(spikes)}, {out: target}, num_epochs=3,
            callbacks=[VarRecorder(out, "v", key="v"), SpikeRecorder(hid, key="hid"),
                       OptimiserParamSchedule("alpha", schedule)])
        optimiser = compiled.optimisers[0][0]
        assert optimiser.alpha == pytest.approx(0.0025)
        assert [e for e, _ in seen][:3] == [0, 1, 2]
        # The recorders see what e-prop trained on, step for step (last epoch).
        np.testing.assert_array_equal(np.asarray(data["v"][-1]), compiled.eprop.v_out[:, 0])
        times, ids = data["hid"][0][-1], data["hid"][1][-1]
        steps, neurons = np.nonzero(compiled.eprop.spikes[hid][:, 0])
        order = np.lexsort((neurons, steps))
        np.testing.assert_array_equal(ids, neurons[order])
        np.testing.assert_allclose(times, steps[order].astype(float))


def test_saved_output_bias_reaches_an_inference_network():
    x, y = pattern_data(16, 0)
    network, inp, out = _classifier()
    compiled = EPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                             optimiser=("adam", {"alpha": 0.05}), batch_size=4).compile(network)
    with compiled:
        compiled.train({inp: x}, {out: y}, num_epochs=2, callbacks=[])
        bias = compiled.learnable_state()["out/bias"]
        compiled.save(("trained",))
        trained_metrics, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
    assert np.abs(bias).max() > 1e-3
    network.load(("trained",))
    np.testing.assert_array_equal(out.neuron.bias, bias)
    inference = InferenceCompiler(evaluate_timesteps=STEPS, batch_size=4,
                                  backend="numpy").compile(network)
    with inference:
        metrics, _ = inference.evaluate({inp: x}, {out: y}, callbacks=[])
    assert metrics[out].result == trained_metrics[out].result


def test_validation_split_reports_inference_metrics_each_epoch():
    x, y = pattern_data(20, 0)
    network, inp, out = _classifier()
    compiled = EPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                             batch_size=4).compile(network)
    with compiled:
        metrics, val_metrics, _, _ = compiled.train({inp: x}, {out: y}, num_epochs=2,
                                                    validation_split=0.2, callbacks=[],
                                                    validation_callbacks=[])
    assert metrics[out].total == 16 and val_metrics[out].total == 4


def test_a_direct_input_to_output_connection_gets_the_output_rule():
    network = Network(default_params)
    with network:
        inp = Population(SpikeInput(max_spikes=10000), 6, name="inp")
        hid = Population(LeakyIntegrateFire(v_thresh=0.6), 8, name="hid")
        out = Population(LeakyIntegrate(readout="sum_var"), 3, name="out")
        Connection(inp, hid, Dense(Normal(mean=0.5, sd=0.3)), name="in_hid")
        Connection(hid, out, Dense(Normal(sd=0.3)), name="hid_out")
        Connection(inp, out, Dense(Normal(sd=0.3)), name="in_out")
    compiled = EPropCompiler(example_timesteps=STEPS, losses="sparse_categorical_crossentropy",
                             batch_size=2).compile(network)
    spikes = raster(1, STEPS, 2)
    with compiled:
        compiled.train({inp: to_spikes(spikes)}, {out: np.array([0, 2])}, num_epochs=1,
                       shuffle=False, callbacks=[])
        grad = compiled.last_gradients["in_out/weight"]
        error = compiled.eprop.error
    alpha = np.exp(-1.0 / 20.0)
    trace, want = np.zeros((2, 6)), np.zeros((6, 3))
    for s in range(STEPS - 1):
        trace = alpha * trace + spikes[s]
        want += trace.T @ error[s]
    np.testing.assert_allclose(grad, want, rtol=1e-10)
    assert np.abs(want).max() > 0.5

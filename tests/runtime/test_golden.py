"""Reproduce the mlGeNN reference recordings (tests/fixtures/golden) exactly."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import (
    ProtocolRecorder,
    golden_list,
    golden_spikes,
    if_input_network,
    load_golden,
    spike_input_network,
    spikes_by_step,
)

from spikehooks import InferenceCompiler


def _run_golden(name: str, accumulation: str = "sequential"):
    data = load_golden(name)
    if name == "if_input_lif_li":
        network, inp, hidden, out = if_input_network(data)
        x, timesteps = data["x"], 50
        variables = [("hidden_v", hidden, "v"), ("output_v", out, "v"),
                     ("output_vsum", out, "VSum")]
    else:
        network, inp, hidden, out = spike_input_network(data)
        x, timesteps = golden_spikes(data), 40
        variables = [("hidden_v", hidden, "v"), ("hidden_refrac", hidden, "RefracTime"),
                     ("output_v", out, "v"), ("output_vmax", out, "VMax")]
    # mlGeNN's carry-over of synaptic input between examples, at batch size 1.
    # "compiled": the compiled backend, which sums in the sequential order.
    backend = ("compiled" if accumulation == "compiled"
               else ("numpy", {"accumulation": accumulation}))
    compiler = InferenceCompiler(evaluate_timesteps=timesteps, batch_size=1, dt=1.0,
                                 reset_in_syn_between_batches=False, backend=backend)
    recorder = ProtocolRecorder(spikes=[inp, hidden], variables=variables, readouts=[out])
    compiled = compiler.compile(network)
    with compiled:
        metrics, cb_data = compiled.evaluate({inp: x}, {out: data["y"]}, callbacks=[recorder])
    return data, metrics[out], cb_data["protocol"]


CASES = ["if_input_lif_li", "spike_input_exp_lif"]


@pytest.mark.parametrize("accumulation", ["sequential", "blas", "compiled"])
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("key", ["input_spikes", "hidden_spikes"])
def test_golden_spikes_match_per_timestep(name, key, accumulation):
    data, _, recorded = _run_golden(name, accumulation)
    expected_times = golden_list(data, key, "times")
    expected_ids = golden_list(data, key, "ids")
    got = recorded["spikes"][key.split("_")[0]]
    assert len(got) == len(expected_times)
    for (times, ids), exp_t, exp_i in zip(got, expected_times, expected_ids, strict=True):
        assert times.dtype == np.float64 and ids.dtype == np.int32
        assert spikes_by_step(times, ids) == spikes_by_step(exp_t, exp_i)


@pytest.mark.parametrize(
    "name,key",
    [("if_input_lif_li", k) for k in ("hidden_v", "output_v", "output_vsum")]
    + [("spike_input_exp_lif", k)
       for k in ("hidden_v", "hidden_refrac", "output_v", "output_vmax")],
)
@pytest.mark.parametrize("accumulation", ["sequential", "compiled"])
def test_golden_variables_are_bit_exact(name, key, accumulation):
    data, _, recorded = _run_golden(name, accumulation)
    expected = golden_list(data, key)
    got = recorded["vars"][key]
    assert len(got) == len(expected)
    for value, exp in zip(got, expected, strict=True):
        assert value.dtype == np.float32 and value.shape == exp.shape
        np.testing.assert_array_equal(value, exp)


@pytest.mark.parametrize(
    "name,key",
    [("if_input_lif_li", k) for k in ("hidden_v", "output_v", "output_vsum")]
    + [("spike_input_exp_lif", k)
       for k in ("hidden_v", "hidden_refrac", "output_v", "output_vmax")],
)
def test_golden_variables_match_with_blas_accumulation(name, key):
    """The default (BLAS) summation order differs from GeNN's by rounding only."""
    data, _, recorded = _run_golden(name, "blas")
    for value, exp in zip(recorded["vars"][key], golden_list(data, key), strict=True):
        np.testing.assert_allclose(value, exp, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("accumulation", ["sequential", "compiled"])
@pytest.mark.parametrize("name", CASES)
def test_golden_readout_and_accuracy(name, accumulation):
    data, metric, recorded = _run_golden(name, accumulation)
    np.testing.assert_array_equal(np.stack(recorded["readouts"]["output"]), data["readout"])
    assert metric.correct == int(data["metric_correct"])
    assert metric.total == int(data["metric_total"])
    assert metric.result == pytest.approx(float(data["accuracy"]))


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("name", CASES)
def test_golden_readout_without_timestep_hooks(name, backend):
    """The fast path (no per-step callback) gives the same readouts."""
    data = load_golden(name)
    if name == "if_input_lif_li":
        network, inp, _, out = if_input_network(data)
        x, timesteps = data["x"], 50
    else:
        network, inp, _, out = spike_input_network(data)
        x, timesteps = golden_spikes(data), 40
    compiled = InferenceCompiler(evaluate_timesteps=timesteps, reset_in_syn_between_batches=False,
                                 backend=backend).compile(network)
    with compiled:
        predictions, cb_data = compiled.predict({inp: x}, out, callbacks=[])
    assert cb_data == {}
    np.testing.assert_array_equal(predictions[out], data["readout"])

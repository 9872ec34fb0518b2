"""The genn backend reproduces the mlGeNN reference recordings exactly (batch size 1, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
from _genn_helpers import PYGENN_MISSING, compiler
from _golden import (
    ProtocolRecorder,
    golden_list,
    golden_spikes,
    if_input_network,
    load_golden,
    spike_input_network,
    spikes_by_step,
)

pytest.importorskip("pygenn", reason=PYGENN_MISSING)

CASES = ["if_input_lif_li", "spike_input_exp_lif"]
VARIABLES = {
    "if_input_lif_li": [("hidden_v", "hidden", "v"), ("output_v", "output", "v"),
                        ("output_vsum", "output", "VSum")],
    "spike_input_exp_lif": [("hidden_v", "hidden", "v"), ("hidden_refrac", "hidden", "RefracTime"),
                            ("output_v", "output", "v"), ("output_vmax", "output", "VMax")],
}


@pytest.fixture(scope="module", params=CASES)
def golden_run(request, genn_cache):
    """Run one golden case on GeNN with mlGeNN's carry-over between examples."""
    name = request.param
    data = load_golden(name)
    if name == "if_input_lif_li":
        network, inp, hidden, out = if_input_network(data)
        x, timesteps = data["x"], 50
    else:
        network, inp, hidden, out = spike_input_network(data)
        x, timesteps = golden_spikes(data), 40
    pops = {"hidden": hidden, "output": out}
    variables = [(key, pops[pop], var) for key, pop, var in VARIABLES[name]]
    recorder = ProtocolRecorder(spikes=[inp, hidden], variables=variables, readouts=[out])
    compiled = compiler("genn", timesteps, genn_cache,
                        reset_in_syn_between_batches=False).compile(network)
    with compiled:
        metrics, cb_data = compiled.evaluate({inp: x}, {out: data["y"]}, callbacks=[recorder])
    return name, data, metrics[out], cb_data["protocol"]


@pytest.mark.parametrize("key", ["input_spikes", "hidden_spikes"])
def test_golden_spikes_match_per_timestep(golden_run, key):
    _, data, _, recorded = golden_run
    got = recorded["spikes"][key.split("_")[0]]
    expected = list(zip(golden_list(data, key, "times"), golden_list(data, key, "ids"),
                        strict=True))
    assert len(got) == len(expected)
    for (times, ids), (exp_t, exp_i) in zip(got, expected, strict=True):
        assert times.dtype == np.float64 and ids.dtype == np.int32
        assert spikes_by_step(times, ids) == spikes_by_step(exp_t, exp_i)


def test_golden_variables_are_bit_exact(golden_run):
    name, data, _, recorded = golden_run
    for key, _, _ in VARIABLES[name]:
        expected = golden_list(data, key)
        got = recorded["vars"][key]
        assert len(got) == len(expected), key
        for value, exp in zip(got, expected, strict=True):
            assert value.dtype == np.float32 and value.shape == exp.shape
            np.testing.assert_array_equal(value, exp, err_msg=key)


def test_golden_readouts_are_bit_exact(golden_run):
    _, data, _, recorded = golden_run
    got = np.stack(recorded["readouts"]["output"])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, data["readout"])


def test_golden_accuracy_matches(golden_run):
    _, data, metric, _ = golden_run
    assert metric.correct == int(data["metric_correct"])
    assert metric.total == int(data["metric_total"])
    assert metric.result == pytest.approx(float(data["accuracy"]))

"""Recorders on the numpy runtime reproduce mlGeNN's reference recordings.

The references were recorded with mlGeNN's carry-over of synaptic input
between examples, so the networks are compiled with
``reset_in_syn_between_batches=False`` at batch size 1.  Spikes are compared
as sets per timestep (mlGeNN orders ids descending within a 32-bit word, we
ascending); our own order is checked too.  Variables must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from _golden import (
    golden_list,
    golden_spikes,
    if_input_network,
    load_golden,
    spike_input_network,
)

from spikehooks import InferenceCompiler
from spikehooks_recorders import SpikeRecorder, VarRecorder


def run_if_input_case():
    ref = load_golden("if_input_lif_li")
    network, inp, hidden, out = if_input_network(ref)
    compiler = InferenceCompiler(evaluate_timesteps=50, dt=1.0, batch_size=1,
                                 reset_in_syn_between_batches=False)
    callbacks = [SpikeRecorder(inp, key="input_spikes"),
                 SpikeRecorder(hidden, key="hidden_spikes"),
                 VarRecorder(hidden, "v", key="hidden_v"),
                 VarRecorder(out, "v", key="output_v"),
                 VarRecorder(out, genn_var="VSum", key="output_vsum")]
    with compiler.compile(network) as compiled:
        _, cb_data = compiled.evaluate({inp: ref["x"]}, {out: ref["y"]}, callbacks=callbacks)
    return ref, cb_data


def run_spike_input_case():
    ref = load_golden("spike_input_exp_lif")
    network, inp, hidden, out = spike_input_network(ref)
    compiler = InferenceCompiler(evaluate_timesteps=40, dt=1.0, batch_size=1,
                                 reset_in_syn_between_batches=False)
    spikes = golden_spikes(ref)
    callbacks = [SpikeRecorder(inp, key="input_spikes"),
                 SpikeRecorder(hidden, key="hidden_spikes"),
                 VarRecorder(hidden, "v", key="hidden_v"),
                 VarRecorder(hidden, genn_var="RefracTime", key="hidden_refrac"),
                 VarRecorder(out, "v", key="output_v"),
                 VarRecorder(out, genn_var="VMax", key="output_vmax")]
    with compiler.compile(network) as compiled:
        _, cb_data = compiled.evaluate({inp: spikes}, {out: ref["y"]}, callbacks=callbacks)
    return ref, cb_data


CASES = {"if_input_lif_li": run_if_input_case, "spike_input_exp_lif": run_spike_input_case}
SPIKE_KEYS = ("input_spikes", "hidden_spikes")
VAR_KEYS = {"if_input_lif_li": ("hidden_v", "output_v", "output_vsum"),
            "spike_input_exp_lif": ("hidden_v", "hidden_refrac", "output_v", "output_vmax")}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    ref, cb_data = CASES[request.param]()
    return request.param, ref, cb_data


def test_spikes_match_as_sets_per_timestep(case):
    name, ref, cb_data = case
    for key in SPIKE_KEYS:
        times, ids = cb_data[key]
        ref_times, ref_ids = golden_list(ref, key, "times"), golden_list(ref, key, "ids")
        assert len(times) == len(ref_times)
        for k in range(len(times)):
            assert times[k].dtype == np.float64 and ids[k].dtype == np.int32
            got = sorted(zip(times[k].tolist(), ids[k].tolist(), strict=True))
            want = sorted(zip(ref_times[k].tolist(), ref_ids[k].tolist(), strict=True))
            assert got == want, f"{name} {key} example {k}"


def test_spikes_in_our_order(case):
    _, ref, cb_data = case
    for key in SPIKE_KEYS:
        times, ids = cb_data[key]
        for k, (t, i) in enumerate(zip(times, ids, strict=True)):
            order = np.lexsort((golden_list(ref, key, "ids")[k], golden_list(ref, key, "times")[k]))
            np.testing.assert_array_equal(t, golden_list(ref, key, "times")[k][order])
            np.testing.assert_array_equal(i, golden_list(ref, key, "ids")[k][order])


def test_variables_bit_exact(case):
    name, ref, cb_data = case
    for key in VAR_KEYS[name]:
        want = golden_list(ref, key)
        assert len(cb_data[key]) == len(want)
        for got, expected in zip(cb_data[key], want, strict=True):
            assert got.dtype == np.float32 and got.shape == expected.shape
            np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32),
                                          err_msg=f"{name} {key}")

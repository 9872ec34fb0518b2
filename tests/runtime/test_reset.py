"""The default full reset: results never depend on batch size or example order."""

from __future__ import annotations

import numpy as np
import pytest
from _golden import (
    ProtocolRecorder,
    golden_spikes,
    if_input_network,
    load_golden,
    spike_input_network,
)

from spikehooks import InferenceCompiler


def _evaluate(name: str, batch_size: int, order: np.ndarray | None = None, **kwargs):
    data = load_golden(name)
    if name == "if_input_lif_li":
        network, inp, hidden, out = if_input_network(data)
        x, timesteps = data["x"], 50
    else:
        network, inp, hidden, out = spike_input_network(data)
        x, timesteps = golden_spikes(data), 40
    y = data["y"]
    if order is not None:
        x = x[order] if isinstance(x, np.ndarray) else [x[i] for i in order]
        y = y[order]
    recorder = ProtocolRecorder(spikes=[hidden], variables=[("v", out, "v")], readouts=[out])
    compiled = InferenceCompiler(evaluate_timesteps=timesteps, batch_size=batch_size,
                                 **kwargs).compile(network)
    with compiled:
        metrics, cb_data = compiled.evaluate({inp: x}, {out: y}, callbacks=[recorder])
    return metrics[out], cb_data["protocol"]


@pytest.mark.parametrize("name", ["if_input_lif_li", "spike_input_exp_lif"])
@pytest.mark.parametrize("batch_size", [3, 8])
def test_full_reset_gives_the_same_results_for_every_batch_size(name, batch_size):
    metric1, rec1 = _evaluate(name, 1)
    metric, rec = _evaluate(name, batch_size)
    assert (metric.correct, metric.total) == (metric1.correct, metric1.total)
    np.testing.assert_array_equal(np.stack(rec["readouts"]["output"]),
                                  np.stack(rec1["readouts"]["output"]))
    for a, b in zip(rec["vars"]["v"], rec1["vars"]["v"], strict=True):
        np.testing.assert_array_equal(a, b)
    for (t, i), (t1, i1) in zip(rec["spikes"]["hidden"], rec1["spikes"]["hidden"], strict=True):
        np.testing.assert_array_equal(t, t1)
        np.testing.assert_array_equal(i, i1)


def test_full_reset_makes_each_example_independent_of_order():
    order = np.array([5, 2, 7, 0, 1, 6, 3, 4])
    _, forward = _evaluate("if_input_lif_li", 3)
    _, shuffled = _evaluate("if_input_lif_li", 3, order)
    np.testing.assert_array_equal(np.stack(shuffled["readouts"]["output"]),
                                  np.stack(forward["readouts"]["output"])[order])


def test_carry_over_changes_later_examples():
    """mlGeNN's carry-over (reset_in_syn_between_batches=False) differs from the full reset."""
    _, full = _evaluate("spike_input_exp_lif", 1)
    _, carried = _evaluate("spike_input_exp_lif", 1, reset_in_syn_between_batches=False)
    full_r, carried_r = (np.stack(r["readouts"]["output"]) for r in (full, carried))
    np.testing.assert_array_equal(full_r[0], carried_r[0])
    assert not np.array_equal(full_r[1:], carried_r[1:])


def test_full_reset_matches_golden_example_zero():
    """Example 0 has nothing to carry over, so the default reproduces it exactly."""
    data = load_golden("if_input_lif_li")
    _, rec = _evaluate("if_input_lif_li", 4)
    np.testing.assert_array_equal(rec["readouts"]["output"][0], data["readout"][0])

"""e-prop's gradients against an independent float64, per-synapse re-implementation.

The reference (``_eprop_reference``) steps mlGeNN's generated e-prop code
literally: one eligibility trace per synapse and example, updated in GeNN's
order.  spikehooks sums the same terms by a backward recursion over neuron
factors and spike-driven products; the two must agree to float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from _eprop_nets import N_HID, N_OUT, make, raster, to_spikes
from _eprop_reference import run

from spikehooks.training import _eprop_carry
from spikehooks.training._eprop import pseudo_derivative

STEPS = 40


def _train_one_batch(compiled, pops, spikes, targets):
    inp, _, out = pops
    with compiled:
        compiled.train({inp: to_spikes(spikes)}, {out: targets}, num_epochs=1, shuffle=False,
                       callbacks=[])
        return dict(compiled.last_gradients), compiled.eprop


def _assert_close(got, want):
    scale = np.abs(want).max()
    assert scale > 1.0   # the case exercises the rule: gradients far from zero
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize(("adaptive", "categorical", "tau_refrac"), [
    (False, True, 3.0),     # LIF, cross-entropy, refractory
    (False, False, None),   # LIF, per-step regression, no refractory period
    (True, True, 3.0),      # ALIF, cross-entropy
    (True, False, 2.0),     # ALIF, regression
])
def test_gradients_equal_the_per_synapse_reference(adaptive, categorical, tau_refrac):
    spikes = raster(7, STEPS, 3)
    targets = (np.array([0, 2, 1]) if categorical
               else np.random.default_rng(3).normal(0.0, 1.0, (3, STEPS, N_OUT)))
    compiled, pops, net = make(adaptive=adaptive, categorical=categorical,
                               tau_refrac=tau_refrac, batch_size=3)
    grads, rec = _train_one_batch(compiled, pops, spikes, targets)
    ref = run(net, spikes, targets, categorical)
    # Same spikes, so both sides sum the same terms.
    np.testing.assert_array_equal(rec.spikes[pops[1]], ref["hidden_spikes"])
    assert 0.05 < ref["hidden_spikes"].mean() < 0.6
    for key, name in (("in_hid/weight", "w_in"), ("hid_hid/weight", "w_rec"),
                      ("hid_out/weight", "w_out"), ("out/bias", "bias")):
        assert grads[key].shape == ref[name].shape
        _assert_close(grads[key], ref[name])
    np.testing.assert_allclose(rec.favg[pops[1]][:3], ref["favg"], rtol=1e-6, atol=1e-9)


def test_event_driven_and_dense_spike_products_agree(monkeypatch):
    # Two batches, so the second sums the carried traces the first advanced.
    spikes = raster(11, STEPS, 4)
    labels = np.array([1, 0, 2, 1])
    results = []
    for fraction in (2.0, -1.0):     # always event-driven, then always dense
        monkeypatch.setattr(_eprop_carry, "DENSE_FRACTION", fraction)
        compiled, (inp, _, out), _ = make(adaptive=True, tau_refrac=None)
        with compiled:
            compiled.train({inp: to_spikes(spikes)}, {out: labels}, num_epochs=1,
                           shuffle=False, callbacks=[])
            results.append((dict(compiled.last_gradients), compiled.eprop.carry.state()))
    (events, carry_events), (dense, carry_dense) = results
    for key in dense:
        np.testing.assert_allclose(events[key], dense[key], rtol=1e-12, atol=1e-12)
    for key in carry_dense:
        np.testing.assert_allclose(carry_events[key], carry_dense[key], rtol=1e-6, atol=1e-7)


def test_firing_rate_average_runs_on_across_batches():
    # mlGeNN never resets FAvg (nor anything but the readout): the second batch's
    # regulariser starts from the first's.
    spikes = raster(5, STEPS, 4)
    labels = np.array([0, 1, 2, 0])
    compiled, pops, net = make(batch_size=2, c_reg=2.0)
    inp, hid, out = pops
    with compiled:
        compiled.train({inp: to_spikes(spikes)}, {out: labels}, num_epochs=1, shuffle=False,
                       callbacks=[])
        second = dict(compiled.last_gradients)
    first = run(net, spikes[:, :2], labels[:2], True)
    ref = run(net, spikes[:, 2:], labels[2:], True, state=first["state"])
    assert np.abs(first["favg"]).max() > 0.01
    # Two batches of float32 simulation: test_eprop_carry.py's bound.
    for key, name in (("in_hid/weight", "w_in"), ("hid_hid/weight", "w_rec")):
        np.testing.assert_allclose(second[key], ref[name], rtol=0,
                                   atol=5e-5 * np.abs(ref[name]).max())
    np.testing.assert_allclose(compiled.eprop.favg[hid], ref["favg"], rtol=1e-6, atol=1e-9)


def test_adaptation_raises_the_threshold_as_the_reference_does():
    spikes = raster(2, STEPS, 2, rate=0.4)
    counts = []
    for beta in (0.0, 0.5):
        compiled, pops, net = make(adaptive=True, beta=beta, tau_refrac=None)
        _, rec = _train_one_batch(compiled, pops, spikes, np.array([0, 1]))
        ref = run(net, spikes, np.array([0, 1]), True)
        np.testing.assert_array_equal(rec.spikes[pops[1]], ref["hidden_spikes"])
        with compiled:
            a = compiled.backend.live_vars(pops[1])["A"][:2]
        np.testing.assert_allclose(a, ref["a"], rtol=1e-5)
        counts.append(ref["hidden_spikes"].sum())
    # A grows by 1 per spike and decays with tau_adapt: adaptation removes spikes.
    assert counts[1] < counts[0]


def test_pseudo_derivative_is_mlgenns_triangle():
    v = np.array([[1.0, 0.5, 1.5, 2.5, 0.0, 1.0]])
    psi = pseudo_derivative(v, 1.0, 1.0, np.array([[False] * 5 + [True]]))
    np.testing.assert_allclose(psi, [[0.3, 0.15, 0.15, 0.0, 0.0, 0.0]])
    # Adaptive: centred on the raised threshold, width and height from v_thresh.
    np.testing.assert_allclose(pseudo_derivative(np.array([1.6]), 1.6, 0.5, None), [0.6])


def test_output_gradient_is_the_finite_difference_of_the_lagged_objective():
    # Given the hidden spikes (output weights do not change them), mlGeNN's
    # output DeltaG pairs the error of step s with the trace that reaches V in
    # step s + 1: it is the exact gradient of F(W) = sum_s E_s . V_{s+1}(W)
    # with the errors E_s held fixed.  V is linear in W, so central
    # differences of the simulated V give it to rounding.
    spikes = raster(9, STEPS, 2)
    targets = np.random.default_rng(4).normal(0.0, 1.0, (2, STEPS, N_OUT))
    compiled, pops, _ = make(categorical=False, tau_refrac=None)
    inp, hid, out = pops
    conn = compiled.network.get_connection("hid_out")
    with compiled:
        fresh = compiled.state_dict()["eprop_carry"]

        def simulate():
            # Every run from the same (fresh) state: e-prop carries state between batches.
            compiled.backend.set_run_state(fresh["backend"])
            compiled.eprop.carry.load(fresh["traces"])
            compiled.train({inp: to_spikes(spikes)}, {out: targets}, num_epochs=1,
                           shuffle=False, callbacks=[])
            return compiled.eprop.v_out.astype(np.float64), compiled.eprop.error.copy()

        _, error = simulate()
        grad = compiled.last_gradients["hid_out/weight"]
        weight = compiled.backend.get_weight(conn)
        base = weight.copy()
        eps = 0.25
        for i, j in [(0, 0), (3, 1), (N_HID - 1, N_OUT - 1), (5, 2)]:
            values = []
            for sign in (1, -1):
                weight[:] = base
                weight[i, j] += sign * eps
                v_out, _ = simulate()
                values.append(np.sum(error[:-1] * v_out[1:]))
            weight[:] = base
            fd = (values[0] - values[1]) / (2 * eps)
            assert abs(grad[i, j]) > 0.1
            np.testing.assert_allclose(grad[i, j], fd, rtol=1e-4)


def test_training_readout_is_the_sum_of_the_previous_steps_softmax():
    spikes = raster(8, STEPS, 3)
    labels = np.array([2, 0, 1])
    compiled, pops, net = make(batch_size=3)
    with compiled:
        compiled.train({pops[0]: to_spikes(spikes)}, {pops[2]: labels}, num_epochs=1,
                       shuffle=False, callbacks=[])
        got = compiled._softmax_readout()
    v = run(net, spikes, labels, True)["v_out"]
    soft = np.exp(v - v.max(axis=2, keepdims=True))
    soft /= soft.sum(axis=2, keepdims=True)
    # mlGeNN's sum_var of VSoftmax: step t adds the softmax computed at the end of t-1.
    np.testing.assert_allclose(got, soft[:-1].sum(axis=0), rtol=1e-5)

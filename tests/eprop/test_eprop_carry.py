"""mlGeNN's e-prop resets only the readout between batches: every batch continues the last.

The reference (``_eprop_reference``) carries all of mlGeNN's model state
from one batch to the next (``result["state"]``); spikehooks must continue
the same way: neuron state, spikes in flight, filtered spike trains,
``Psi``, the errors and softmax, and every synapse's eligibility traces.
Over two batches the float32 simulation drifts from the float64 reference
by up to 1e-5 of ``V``, and the pseudo-derivative passes that on (its slope
is ``0.3 / v_thresh**2``), hence a bound of ``5e-5`` of the largest value
(one batch from rest holds ``2e-6``, ``test_eprop_gradients.py``).  The sums
themselves are checked exactly, in float64, against a per-synapse loop
(:func:`test_carried_sums_equal_a_per_synapse_loop`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _eprop_nets import N_OUT, make, raster, to_spikes
from _eprop_reference import run

from spikehooks.errors import ConfigurationError

STEPS = 40
#: Float32 simulation against the float64 reference over two batches (module docstring).
BOUND = 5e-5
KEYS = (("in_hid/weight", "w_in"), ("hid_hid/weight", "w_rec"), ("hid_out/weight", "w_out"),
        ("out/bias", "bias"))


def _assert_close(got, want):
    scale = np.abs(want).max()
    assert scale > 1.0   # the case exercises the rule: gradients far from zero
    np.testing.assert_allclose(got, want, rtol=0, atol=BOUND * scale)


class _Keep:
    """Keeps each batch's gradients and the recorder's output V (a training callback)."""

    def __init__(self, compiled):
        self.compiled, self.grads, self.v_out = compiled, [], []

    def on_batch_end(self, batch, metrics):
        self.grads.append(dict(self.compiled.last_gradients))
        self.v_out.append(self.compiled.eprop.v_out.astype(np.float64))


def _targets(categorical, n, seed=3):
    if categorical:
        return np.arange(n) % N_OUT
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, STEPS, N_OUT))


@pytest.mark.parametrize(("adaptive", "categorical"), [
    (False, True), (False, False), (True, True), (True, False)])
def test_the_second_batch_continues_where_the_first_stopped(adaptive, categorical):
    spikes = raster(5, STEPS, 4)
    targets = _targets(categorical, 4)
    compiled, (inp, hid, out), net = make(adaptive=adaptive, categorical=categorical,
                                         batch_size=2, c_reg=1.0, tau_refrac=2.0)
    keep = _Keep(compiled)
    with compiled:
        compiled.train({inp: to_spikes(spikes)}, {out: targets}, num_epochs=1, shuffle=False,
                       callbacks=[keep])
        carry = compiled.eprop.carry
        ef_in, ef_rec = (carry.ef[compiled.network.get_connection(n)].astype(np.float64)
                         for n in ("in_hid", "hid_hid"))
        v_hid = compiled.backend.live_vars(hid)["V"].astype(np.float64)
    first = run(net, spikes[:, :2], targets[:2], categorical)
    second = run(net, spikes[:, 2:], targets[2:], categorical, state=first["state"])
    fresh = run(net, spikes[:, 2:], targets[2:], categorical)
    for key, name in KEYS:
        _assert_close(keep.grads[0][key], first[name])
        _assert_close(keep.grads[1][key], second[name])
    # The carry matters: from rest the second batch's output would differ.
    np.testing.assert_allclose(keep.v_out[1], second["v_out"], rtol=0, atol=1e-4)
    assert np.abs(fresh["v_out"] - second["v_out"]).max() > 0.05
    # The state left to a third batch: membrane and per-synapse eligibility traces.
    np.testing.assert_allclose(v_hid, second["state"]["v"], rtol=0, atol=1e-4)
    scale = np.abs(second["state"]["ef_rec"]).max()
    assert scale > 0.1
    np.testing.assert_allclose(ef_in, second["state"]["ef_in"], rtol=0, atol=BOUND * scale)
    np.testing.assert_allclose(ef_rec, second["state"]["ef_rec"], rtol=0, atol=BOUND * scale)
    if adaptive:
        eps = carry.epsa[compiled.network.get_connection("hid_hid")].astype(np.float64)
        want = second["state"]["eps_rec"]
        assert np.abs(want).max() > 0.01
        np.testing.assert_allclose(eps, want, rtol=0, atol=BOUND * np.abs(want).max())


def test_the_first_step_of_a_batch_integrates_the_last_steps_spikes():
    # GeNN delivers the spikes of a batch's last step in the next batch's first step,
    # onto the carried V: V_out(0) = alpha V_out(T-1) + z_hid(T-1) W_out + bias.
    spikes = raster(6, STEPS, 4)
    compiled, (inp, hid, out), net = make(batch_size=2, bias=0.3, tau_refrac=None)
    keep = _Keep(compiled)
    with compiled:
        compiled.train({inp: to_spikes(spikes)}, {out: np.array([0, 1, 2, 0])},
                       num_epochs=1, shuffle=False, callbacks=[keep])
        last_spikes = compiled.eprop.spikes[hid]   # of the second batch
    first = run(net, spikes[:, :2], np.array([0, 1]), True)
    z_last = first["hidden_spikes"][-1].astype(np.float64)
    assert z_last.any()
    want = (math.exp(-1.0 / 20.0) * keep.v_out[0][-1] + z_last @ net.w_out + 0.3)
    np.testing.assert_allclose(keep.v_out[1][0], want, rtol=1e-5)
    assert last_spikes.shape == (STEPS, 2, 8)


def test_padding_rows_run_on_and_add_nothing():
    # 3 examples at batch 2, trained twice: batches [0, 1], [2, pad], [0, 1], [2, pad].
    # The padding row has no input and no target (no error), but its state runs on.
    spikes = raster(8, STEPS, 3)
    labels = np.array([2, 0, 1])
    compiled, (inp, _, out), net = make(batch_size=2, c_reg=1.0)
    keep = _Keep(compiled)
    with compiled:
        for _ in range(2):
            compiled.train({inp: to_spikes(spikes)}, {out: labels}, num_epochs=1,
                           shuffle=False, callbacks=[keep])
    padded = np.zeros((STEPS, 2, spikes.shape[2]), bool)
    padded[:, 0] = spikes[:, 2]
    state, refs = None, []
    for _ in range(2):
        full = run(net, spikes[:, :2], labels[:2], True, state=state)
        part = run(net, padded, labels[2:], True, state=full["state"], real=1)
        refs += [full, part]
        state = part["state"]
    assert len(keep.grads) == 4
    for got, ref in zip(keep.grads, refs, strict=True):
        for key, name in KEYS:
            _assert_close(got[key], ref[name])


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_evaluate_between_epochs_changes_no_training_result(backend):
    if backend == "compiled":
        pytest.importorskip("numba")
    spikes = to_spikes(raster(3, STEPS, 4))
    labels = np.array([0, 1, 2, 1])

    def states(with_evaluate):
        compiled, (inp, _, out), _ = make(batch_size=2, optimiser=("adam", {"alpha": 0.01}),
                                          backend=backend)
        with compiled:
            compiled.train({inp: spikes}, {out: labels}, num_epochs=1, callbacks=[])
            metrics = None
            if with_evaluate:
                metrics, _ = compiled.evaluate({inp: spikes}, {out: labels}, callbacks=[])
                again, _ = compiled.evaluate({inp: spikes}, {out: labels}, callbacks=[])
                # Each evaluation starts every batch from rest: it is repeatable.
                assert again[out].result == metrics[out].result
            compiled.train({inp: spikes}, {out: labels}, num_epochs=1, start_epoch=1,
                           callbacks=[])
            return compiled.state_dict()

    plain, evaluated = states(False), states(True)
    _assert_same_training_state(evaluated, plain)


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_validation_passes_change_no_training_result(backend):
    # Each epoch's validation pass (framed by the validation callbacks' epoch hooks) runs
    # from rest and leaves the carried training state as it found it.
    if backend == "compiled":
        pytest.importorskip("numba")
    spikes = to_spikes(raster(3, STEPS, 4))
    labels = np.array([0, 1, 2, 1])
    held = to_spikes(raster(5, STEPS, 2))

    def train(validate):
        compiled, (inp, _, out), _ = make(batch_size=2, optimiser=("adam", {"alpha": 0.01}),
                                          backend=backend)
        extra = {"validation_x": {inp: held}, "validation_y": {out: np.array([2, 0])},
                 "validation_callbacks": []} if validate else {}
        with compiled:
            result = compiled.train({inp: spikes}, {out: labels}, num_epochs=2, shuffle=False,
                                    callbacks=[], **extra)
            return compiled.state_dict(), result

    (plain, _), (validated, result) = train(False), train(True)
    assert len(result) == 4 and result[1][next(iter(result[1]))].total == 2
    _assert_same_training_state(validated, plain)


def test_a_state_whose_carry_does_not_fit_is_refused_before_anything_changes():
    compiled, (inp, _, out), _ = make(batch_size=2)
    other, _, _ = make(batch_size=3)
    with compiled:
        compiled.train({inp: to_spikes(raster(1, STEPS, 2))}, {out: np.array([0, 1])},
                       num_epochs=1, callbacks=[])
        before = compiled.state_dict()
        with other:
            foreign = other.state_dict()
        state = dict(before, eprop_carry=foreign["eprop_carry"])
        with pytest.raises(ConfigurationError, match="eprop_carry.backend must hold"):
            compiled.load_state_dict(state)
        state["eprop_carry"] = {"backend": before["eprop_carry"]["backend"],
                                "traces": foreign["eprop_carry"]["traces"]}
        with pytest.raises(ConfigurationError, match="eprop_carry.traces must hold"):
            compiled.load_state_dict(state)
        after = compiled.state_dict()
    np.testing.assert_array_equal(after["eprop_carry"]["traces"]["ef:in_hid"],
                                  before["eprop_carry"]["traces"]["ef:in_hid"])
    assert set(before["eprop_carry"]["traces"]) >= {"z:inp", "z:hid", "psi:hid", "e_hid:hid",
                                                    "e_out", "softmax", "ef:in_hid",
                                                    "ef:hid_hid", "started"}


class _Obj:
    """A hashable stand-in for a population, connection or layout."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)


@pytest.mark.parametrize("adaptive", [False, True])
def test_carried_sums_equal_a_per_synapse_loop(adaptive):
    # hidden_sums' backward recursions against GeNN's per-synapse update, step by
    # step, all in float64: entry 0 of each series is the carried neuron state.
    from spikehooks.training._eprop import _spike_outer
    from spikehooks.training._eprop_carry import EPropCarry, hidden_sums

    rng = np.random.default_rng(12)
    steps, rows, real, n_pre, n_post = 9, 3, 2, 4, 5
    alpha, rho, beta, c_reg, f_target = 0.9, 0.97, 0.3 if adaptive else 0.0, 0.7, 0.02
    pre = _Obj(name="pre", num_neurons=n_pre)
    post = _Obj(name="post", num_neurons=n_post)
    conn = _Obj(name="c", source=pre, target=post)
    spec = _Obj(population=post, adaptive=adaptive, beta=beta)
    layout = _Obj(alpha=alpha, rho=rho, hidden=[spec], sources=[pre],
                             hidden_conns=[conn], output=_Obj(num_neurons=2))
    carry = EPropCarry(layout, rows)
    carry.z[pre][:] = rng.random((rows, n_pre))
    carry.ef[conn][:] = rng.normal(size=(rows, n_pre, n_post))
    if adaptive:
        carry.epsa[conn][:] = rng.normal(size=(rows, n_pre, n_post))
    ef0 = carry.ef[conn].astype(np.float64)
    eps0 = carry.epsa[conn].astype(np.float64) if adaptive else np.zeros_like(ef0)
    series = {"psi": rng.random((steps, rows, n_post)) * 0.5,
              "favg": rng.random((steps, rows, n_post)) * 0.05,
              "e_hid": rng.normal(size=(steps, rows, n_post))}
    spikes = {pre: rng.random((steps, rows, n_pre)) < 0.4}
    traces = {"z": carry.z, "ef": carry.ef, "epsa": carry.epsa}
    grads = hidden_sums(spec, layout, [conn], series, traces, spikes, real, c_reg, f_target,
                        _spike_outer)

    z_run, ef, eps, dg = carry.z[pre].copy(), ef0.copy(), eps0.copy(), np.zeros((n_pre, n_post))
    for p in range(steps):
        if p:
            z_run = alpha * z_run + spikes[pre][p - 1]
        psi, e_hid, favg = (series[k][p][:, None, :] for k in ("psi", "e_hid", "favg"))
        if adaptive:
            e = psi * (z_run[:, :, None] - beta * eps)
            eps = psi * z_run[:, :, None] + (rho - beta * psi) * eps
        else:
            e = z_run[:, :, None] * psi
        ef = alpha * ef + e
        dg += np.sum((ef * e_hid + c_reg * (favg - f_target) * e)[:real], axis=0)
    np.testing.assert_allclose(grads[conn], dg, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(carry.ef[conn], ef, rtol=1e-5, atol=1e-6)   # stored float32
    if adaptive:
        np.testing.assert_allclose(carry.epsa[conn], eps, rtol=1e-5, atol=1e-6)
    assert np.abs(dg).max() > 1.0


def test_the_sums_do_not_depend_on_how_rows_are_blocked(monkeypatch):
    from spikehooks.training import _eprop

    spikes = to_spikes(raster(4, STEPS, 6))
    labels = np.array([0, 1, 2, 1, 0, 2])

    def train():
        compiled, (inp, _, out), _ = make(adaptive=True, batch_size=4, c_reg=1.0)
        keep = _Keep(compiled)
        with compiled:
            compiled.train({inp: spikes}, {out: labels}, num_epochs=2, shuffle=False,
                           callbacks=[keep])
            return keep.grads, compiled.eprop.carry.state()

    whole, whole_carry = train()
    monkeypatch.setattr(_eprop, "_BLOCK_BYTES", 1)   # one row per block
    rows, rows_carry = train()
    for got, want in zip(rows, whole, strict=True):
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12)
    for key, value in whole_carry.items():
        np.testing.assert_allclose(rows_carry[key], value, rtol=1e-6, atol=1e-7, err_msg=key)


def _assert_same_training_state(got: dict, expected: dict) -> None:
    """Equal learnable arrays and equal carried e-prop state (backend and traces), bit for bit."""
    for key, value in expected["learnable"].items():
        np.testing.assert_array_equal(got["learnable"][key], value)
    for group in ("backend", "traces"):
        for key, entry in expected["eprop_carry"][group].items():
            for name, value in (entry.items() if isinstance(entry, dict) else [("", entry)]):
                mine = got["eprop_carry"][group][key]
                np.testing.assert_array_equal(mine[name] if name else mine, value)

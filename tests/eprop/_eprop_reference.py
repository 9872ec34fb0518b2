"""An independent float64 re-implementation of mlGeNN 2.4.0's e-prop, step by step.

It follows the order GeNN runs mlGeNN's generated code in, literally and
per synapse: in each step first the synapse phase (spike delivery; every
synapse updates its eligibility trace from the neuron state of the previous
step and adds to ``DeltaG``; the output synapses feed the output error back
to the hidden neurons), then the neuron phase (integration, the
pseudo-derivative of ``V`` before the reset, threshold and reset, filtered
spike trains, the output error).  It shares no code with
``spikehooks.training._eprop``, which sums the same terms in another order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Net:
    """One input, one recurrent hidden (LIF or ALIF) and one leaky-integrator output."""

    w_in: np.ndarray        # (n_in, n_hid)
    w_rec: np.ndarray       # (n_hid, n_hid)
    w_out: np.ndarray       # (n_hid, n_out)
    bias: np.ndarray        # (n_out,)
    tau_mem: float = 20.0
    tau_out: float = 20.0
    v_thresh: float = 0.6
    v_reset: float = 0.0
    tau_refrac: float | None = None
    adaptive: bool = False
    beta: float = 0.0174
    tau_adapt: float = 2000.0
    c_reg: float = 0.0
    f_target: float = 10.0
    tau_reg: float = 500.0
    dt: float = 1.0


#: Every variable mlGeNN's e-prop model keeps from one step (and batch) to the next.
STATE = ("v", "a", "refrac", "z_in", "z_hid", "v_out", "softmax", "zf_in", "zf_hid", "psi",
         "favg", "e_hid", "e_out", "ef_in", "ef_rec", "eps_in", "eps_rec")


def run(net: Net, input_spikes: np.ndarray, targets: np.ndarray, categorical: bool,
        favg0: np.ndarray | None = None, state: dict | None = None,
        real: int | None = None) -> dict:
    """Simulate one batch; return the gradients, the traces to compare and the state.

    Parameters
    ----------
    input_spikes : bool array (T, B, n_in)
        Input spikes per step.
    targets : int array (real,) (categorical) or float array (real, T, n_out)
    favg0 : float array (B, n_hid), optional
        ``FAvg`` at the start (it runs on across batches).
    state : dict, optional
        ``result["state"]`` of the previous batch: mlGeNN resets nothing but
        the readout between batches, so the batch continues from it.
    real : int, optional
        Rows ``0 .. real - 1`` are examples; the others are padding (no
        input, no target, so no output error) and add nothing to ``DeltaG``.
    """
    steps, batch, n_in = input_spikes.shape
    n_hid, n_out = net.w_out.shape
    dt = net.dt
    alpha = np.exp(-dt / net.tau_mem)
    alpha_out = np.exp(-dt / net.tau_out)
    rho = np.exp(-dt / net.tau_adapt)
    alpha_f = np.exp(-dt / net.tau_reg)
    f_target = net.f_target * dt / 1000.0
    beta = net.beta if net.adaptive else 0.0

    v = np.zeros((batch, n_hid))
    a = np.zeros((batch, n_hid))
    refrac = np.zeros((batch, n_hid))
    z_in = np.zeros((batch, n_in))
    z_hid = np.zeros((batch, n_hid))
    v_out = np.zeros((batch, n_out))
    softmax = np.zeros((batch, n_out))
    zf_in = np.zeros((batch, n_in))
    zf_hid = np.zeros((batch, n_hid))
    psi = np.zeros((batch, n_hid))
    favg = np.zeros((batch, n_hid)) if favg0 is None else favg0.astype(np.float64).copy()
    e_hid = np.zeros((batch, n_hid))
    e_out = np.zeros((batch, n_out))
    # Per-synapse, per-example state of the e-prop weight update models.
    ef_in = np.zeros((batch, n_in, n_hid))
    ef_rec = np.zeros((batch, n_hid, n_hid))
    eps_in = np.zeros((batch, n_in, n_hid))
    eps_rec = np.zeros((batch, n_hid, n_hid))
    if state is not None:
        (v, a, refrac, z_in, z_hid, v_out, softmax, zf_in, zf_hid, psi, favg, e_hid, e_out,
         ef_in, ef_rec, eps_in, eps_rec) = (np.array(state[name]) for name in STATE)
    real = batch if real is None else real
    dg_in = np.zeros((n_in, n_hid))
    dg_rec = np.zeros((n_hid, n_hid))
    dg_out = np.zeros((n_hid, n_out))
    d_bias = np.zeros(n_out)
    hid_spikes = np.zeros((steps, batch, n_hid), bool)
    v_out_hist = np.zeros((steps, batch, n_out))

    def synapse_update(zf_pre, ef, eps, dg):
        if net.adaptive:
            e = psi[:, None, :] * zf_pre[:, :, None] - psi[:, None, :] * beta * eps
            eps[:] = psi[:, None, :] * zf_pre[:, :, None] + rho * eps \
                - psi[:, None, :] * beta * eps
        else:
            e = zf_pre[:, :, None] * psi[:, None, :]
        ef[:] = ef * alpha + e
        dg += np.sum((ef * e_hid[:, None, :]
                      + (favg - f_target)[:, None, :] * net.c_reg * e)[:real], axis=0)

    for t in range(steps):
        # ---- synapse phase (state of step t-1)
        isyn = z_in @ net.w_in + z_hid @ net.w_rec
        isyn_out = z_hid @ net.w_out
        synapse_update(zf_in, ef_in, eps_in, dg_in)
        synapse_update(zf_hid, ef_rec, eps_rec, dg_rec)
        dg_out += np.einsum("bi,bj->ij", zf_hid[:real], e_out[:real])
        feedback = e_out @ net.w_out.T
        # ---- neuron phase
        z_in = input_spikes[t].astype(np.float64)
        zf_in = alpha * zf_in + z_in
        v = alpha * v + isyn
        a = rho * a
        if net.tau_refrac is not None:
            refrac = np.where(refrac > 0.0, refrac - dt, refrac)
        e_hid = feedback
        threshold = net.v_thresh + beta * a
        psi = np.where(refrac > 0.0, 0.0, (0.3 / net.v_thresh) * np.maximum(
            0.0, 1.0 - np.abs((v - threshold) / net.v_thresh)))
        favg = favg * alpha_f
        spike = (v >= threshold) & (refrac <= 0.0)
        v = np.where(spike, v - (net.v_thresh - net.v_reset), v)
        a = a + spike
        if net.tau_refrac is not None:
            refrac = np.where(spike, net.tau_refrac, refrac)
        favg = favg + spike * (1.0 - alpha_f)
        z_hid = spike.astype(np.float64)
        zf_hid = alpha * zf_hid + z_hid
        hid_spikes[t] = spike
        v_out = alpha_out * v_out + isyn_out + net.bias
        v_out_hist[t] = v_out
        e_out = np.zeros((batch, n_out))
        if categorical:
            onehot = np.zeros((real, n_out))
            onehot[np.arange(real), targets[:real]] = 1.0
            e_out[:real] = softmax[:real] - onehot
        else:
            e_out[:real] = v_out[:real] - targets[:real, t]
        d_bias += e_out.sum(axis=0)
        # timestep-end custom update: softmax of this step's V, used next step
        shifted = v_out - v_out.max(axis=1, keepdims=True)
        softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    local = locals()
    return {"w_in": dg_in, "w_rec": dg_rec, "w_out": dg_out, "bias": d_bias,
            "hidden_spikes": hid_spikes, "v_out": v_out_hist, "favg": favg, "a": a,
            "state": {name: np.array(local[name]) for name in STATE}}


__all__ = ["STATE", "Net", "run"]

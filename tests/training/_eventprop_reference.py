"""An independent float64 simulator of the discrete dynamics, for finite differences.

Written separately from ``spikehooks.training`` (different loop structure: one
``inSyn`` per layer, einsum over a leading axis of perturbed weight sets) so
that the gradient tests compare two implementations, not one with itself.
"""

from __future__ import annotations

import numpy as np

from spikehooks.losses import Loss


def simulate(graph, weights, input_spikes, substep=False):
    """Run the network for ``P`` weight sets at once.

    With ``substep``, hidden LIF spikes act at their interpolated crossing
    time: the reset keeps the charge of the rest of the step, and delivery
    adds the decay since the crossing (of the current, or of the V jump for
    delta synapses) and the charge the current would have injected.  This
    removes the ``dt`` staircase from the loss (to first order), which makes
    finite-difference slopes a usable continuous-time reference.

    Parameters
    ----------
    graph : spikehooks.training._graph.Graph
        A chain input -> ... -> output (one connection into each layer).
    weights : list of array, shape (P, n_pre, n_post)
    input_spikes : bool array, shape (N, B, n_in)

    Returns
    -------
    readout : float64 array, shape (P, B, K), or (P, N, B, K) for ``var``
        (the output's V after every step).  For first_spike_time: ``-t`` with
        ``t`` interpolated within the step.
    counts : list of int arrays, shape (P, B, size), spike counts per layer
    """
    num_steps, batch = input_spikes.shape[:2]
    num_sets = weights[0].shape[0]
    layers = graph.layers
    sizes = [lay.size for lay in layers]
    prev = [np.zeros((num_sets, batch, s)) for s in sizes]
    lags = [np.zeros((num_sets, batch, s)) for s in sizes]
    v = [np.zeros((num_sets, batch, s)) for s in sizes]
    syn = [np.zeros((num_sets, batch, s)) for s in sizes]
    counts = [np.zeros((num_sets, batch, s), dtype=np.int64) for s in sizes]
    out = layers[-1]
    acc = np.zeros((num_sets, batch, out.size))
    first = np.full((num_sets, batch, out.size), -1.0)
    trace = np.zeros((num_sets, num_steps, batch, out.size)) if out.readout == "var" else None
    for n in range(num_steps):
        new = [None] * len(layers)
        new[0] = np.broadcast_to(input_spikes[n].astype(float), (num_sets, batch, sizes[0]))
        for conn, w in zip(graph.conns, weights, strict=True):
            post = graph.layers[conn.post]
            if conn.synapse == "delta":  # the V jump has decayed since the crossing
                early = prev[conn.pre] * np.exp(-lags[conn.pre] * graph.dt / post.tau_m)
            else:
                early = prev[conn.pre] * float(conn.beta) ** lags[conn.pre]
            syn[conn.post] = syn[conn.post] + np.einsum("pbi,pij->pbj", early, w)
            if substep and conn.synapse == "exponential":
                charge = prev[conn.pre] * lags[conn.pre] * graph.dt / post.tau_m
                v[conn.post] = v[conn.post] + np.einsum("pbi,pij->pbj", charge, w)
        lags = [np.zeros_like(lag) for lag in lags]
        for li in range(1, len(layers)):
            lay = layers[li]
            conn = graph.conns[lay.incoming[0]]
            drive = float(conn.syn_scale) * syn[li]
            v_before = v[li]
            v[li] = float(lay.alpha) * v[li] + float(lay.neuron_scale) * drive
            if lay.kind == "lif":
                fired = v[li] >= float(lay.v_thresh)
                if li == len(layers) - 1:
                    # Sub-step crossing time by linear interpolation keeps the
                    # loss smooth in the weights (the continuous-time limit).
                    frac = (float(lay.v_thresh) - v_before) / np.maximum(v[li] - v_before, 1e-300)
                    first = np.where(fired & (first < 0), n - 1 + np.clip(frac, 0, 1), first)
                if substep and li < len(layers) - 1:
                    frac = (float(lay.v_thresh) - v_before) / np.maximum(v[li] - v_before, 1e-300)
                    lags[li] = np.where(fired, 1.0 - np.clip(frac, 0, 1), 0.0)
                    current = float(lay.neuron_scale) * drive / (1.0 - float(lay.alpha))
                    v[li] = np.where(fired, current * lags[li] * graph.dt / lay.tau_m, v[li])
                else:
                    v[li] = np.where(fired, 0.0, v[li])
                new[li] = fired.astype(float)
                counts[li] += fired
            else:
                v[li] = v[li] + float(lay.bias)
                if lay.readout == "sum_var":
                    acc += v[li]
                elif lay.readout == "avg_var":
                    acc += v[li] / num_steps
                elif lay.readout == "avg_var_exp_weight":
                    acc += np.exp(-n / num_steps) * v[li] / num_steps
                elif lay.readout == "var":
                    trace[:, n] = v[li]
                else:
                    acc = np.maximum(acc, v[li])
                new[li] = np.zeros_like(v[li])
            syn[li] = syn[li] * (float(conn.beta) if conn.synapse == "exponential" else 0.0)
        prev = new
    if out.readout == "first_spike_time":
        acc = np.where(first >= 0, -first * graph.dt, np.finfo(np.float32).min)
    elif trace is not None:
        acc = trace
    return acc, counts


def per_timestep_loss(trace, y, kind):
    """A per-timestep loss of one weight set's output trace (N, B, K), in float64.

    ``kind="mse"``: ``1/(B N) sum 1/2 (V - Y)^2`` with ``y`` of shape (B, N, K);
    ``kind="cross_entropy"``: ``1/(B N) sum_n -log softmax(V_n)[y]`` with
    integer labels ``y`` of shape (B,).  Written from the definitions, not
    from spikehooks' code.
    """
    num_steps, batch, _ = trace.shape
    if kind == "mse":
        total = 0.0
        for b in range(batch):
            for n in range(num_steps):
                diff = trace[n, b] - y[b, n]
                total += 0.5 * float(diff @ diff)
        return total / (batch * num_steps)
    total = 0.0
    for b in range(batch):
        v = trace[:, b]
        top = v.max(axis=1)
        log_norm = top + np.log(np.exp(v - top[:, None]).sum(axis=1))
        total += float(np.sum(log_norm - v[:, y[b]]))
    return total / (batch * num_steps)


def losses_for(graph, weights, input_spikes, labels, loss: Loss):
    """Batch-mean loss for each of the ``P`` weight sets, shape (P,)."""
    readout, _ = simulate(graph, weights, input_spikes)
    return np.array([loss.value_and_grad(r, labels)[0] for r in readout])


def perturbed(weights, conn, entries, offsets):
    """Weight sets with ``weights[conn][entry] += offset`` for every (entry, offset) pair.

    Returns the list of stacked weights, shape (len(entries) * len(offsets), ...) each.
    """
    sets = []
    for entry in entries:
        for offset in offsets:
            ws = [np.array(w, dtype=np.float64) for w in weights]
            ws[conn][entry] += offset
            sets.append(ws)
    return [np.stack([s[c] for s in sets]) for c in range(len(weights))]

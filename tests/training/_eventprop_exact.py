"""A float64 event-driven reference: exact dynamics between events, spikes timed within a step.

Independent of ``spikehooks.training`` (its own state layout and closed-form
integration).  Each population obeys ``tau_m dV/dt = -V + I``,
``tau_s dI/dt = -I`` exactly; a LIF neuron's crossing of ``v_thresh`` is
found inside the step by bisection on the closed-form ``V(s)``, it resets to 0
at that instant and keeps integrating for the rest of the step.  A spike
reaches its targets one step after it is emitted, at the same offset within
the step (the transmission delay of the discrete model), plus the synapse's
delay in whole steps when the connection has ``delays``, and input spikes of
step ``n`` arrive at the start of step ``n + 1`` (plus their delay).  The loss is therefore a
smooth function of every weight as long as no spike appears or disappears:
central finite differences with a small ``eps`` are precise even on long
trials with hundreds of spikes per neuron, where the staircase of a
discrete-time simulation would swamp them.

Per-neuron parameters (mlGeNN's arrays): a layer's ``tau_m`` and ``v_thresh``
and a connection's ``tau_s`` may be arrays of shape (size,) / (n_post,), one
value per (target) neuron.

Voltage readouts sample ``V`` at the end of every step, like the discrete
model (``avg_var_exp_weight`` weights step ``n`` by ``exp(-n / N)``;
``var`` returns the whole trace for per-timestep losses); ``first_spike_time``
returns ``-t`` of the interpolation-free crossing time in ms.
"""

from __future__ import annotations

import numpy as np


def _kernel(s, tau_m, tau_s):
    """V at time ``s`` after a unit jump of I (V starting at 0), elementwise (broadcast)."""
    if np.ndim(tau_m) == 0 and np.ndim(tau_s) == 0:
        if tau_s == tau_m:
            return (s / tau_m) * np.exp(-s / tau_m)
        return tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    same = np.asarray(tau_s) == np.asarray(tau_m)
    gap = np.where(same, 1.0, np.asarray(tau_s) - np.asarray(tau_m))
    general = tau_s / gap * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    return np.where(same, (s / tau_m) * np.exp(-s / tau_m), general)


def _at(value, j):
    """A parameter at the neurons ``j``: the number itself, or ``value[j]``."""
    return value if np.ndim(value) == 0 else np.asarray(value)[j]


def _col(value, j):
    """:func:`_at` as a column, to broadcast against (entries, n_pre) arrays."""
    return value if np.ndim(value) == 0 else np.asarray(value)[j][:, None]


def _v_at(s, v0, i0, tau_m, tau_s):
    return v0 * np.exp(-s / tau_m) + i0 * _kernel(s, tau_m, tau_s)


def simulate_exact(graph, weights, input_spikes, *, iterations=40, shifts=None):
    """Run ``P`` weight sets at once through the event-driven dynamics.

    Parameters
    ----------
    graph : spikehooks.training._graph.Graph
        Layer 0 the input; hidden LIF layers fed through exponential synapses
        (any connections, recurrent ones included); one output (LI or LIF).
        ``scale_i=True`` conventions: a weight is the jump of ``I`` (exponential)
        or of ``V`` by ``neuron_scale * w`` (delta, as in the discrete model).
    weights : list of array, shape (P, n_pre, n_post)
    input_spikes : bool array, shape (N, B, n_in)
    shifts : dict of int to float array of shape (P,), optional
        Connection index -> extra arrival lag in ms per weight set (a
        fractional delay; each arrival must stay inside its step).

    Returns
    -------
    readout : float64 array, shape (P, B, K), or (P, N, B, K) for ``var``
    counts : list of int arrays, shape (P, B, size), spike counts per layer
    """
    num_steps, batch = input_spikes.shape[:2]
    dt = float(graph.dt)
    layers, conns = graph.layers, graph.conns
    num_sets = weights[0].shape[0]
    shape = [(num_sets, batch, lay.size) for lay in layers]
    v = [np.zeros(s) for s in shape]
    cur = [np.zeros(s) for s in shape]
    counts = [np.zeros(s, dtype=np.int64) for s in shape]
    out_index = graph.output
    out = layers[out_index]
    tau_s = {c.post: c.tau_s for c in conns if c.synapse == "exponential"}
    acc = np.zeros(shape[out_index])
    trace = np.zeros((num_sets, num_steps, batch, out.size))
    first = np.full(shape[out_index], -1.0)
    max_delay = max([int(c.delays.max()) for c in conns if c.delays is not None], default=0)
    # history[l][k]: (spikes, offsets) of layer l emitted k steps before the previous step.
    history = [[(np.zeros(s), np.zeros(s)) for _ in range(max_delay + 1)] for s in shape]
    for n in range(num_steps):
        for k in range(max_delay + 1):
            m = n - 1 - k
            sp = input_spikes[m].astype(float) if m >= 0 else np.zeros(shape[0][1:])
            history[0][k] = (np.broadcast_to(sp, shape[0]), np.zeros(shape[0]))
        # Evolve every population's own state over the step, then add arrivals.
        v_end, cur_end = [], []
        for li, lay in enumerate(layers):
            ts = tau_s.get(li, 5.0)
            v_end.append(_v_at(dt, v[li], cur[li], lay.tau_m, ts))
            cur_end.append(cur[li] * np.exp(-dt / ts))
        # Arrivals at offset o: I jumps by w (exponential) or V by w (delta).
        arrive_i = [np.zeros(s) for s in shape]  # jump of I at each neuron, decayed to step end
        arrive_v = [np.zeros(s) for s in shape]  # effect on V at step end
        events = []  # (connection, spikes, weights, offsets) arriving in this step
        for ci, (conn, w) in enumerate(zip(conns, weights, strict=True)):
            post = layers[conn.post]
            parts = [(0, w)] if conn.delays is None else [
                (int(k), w * (conn.delays == k)) for k in np.unique(conn.delays)]
            for k, w_k in parts:
                spikes, off = history[conn.pre][k]
                if not spikes.any():
                    continue
                if shifts is not None and ci in shifts:
                    off = off + np.asarray(shifts[ci], float)[:, None, None]
                    if np.any((off >= dt) & (spikes > 0)):
                        raise ValueError("reference: a shifted arrival left its step")
                rest = dt - off
                per_post = np.ndim(post.tau_m) > 0 or np.ndim(conn.tau_s) > 0
                if conn.synapse == "exponential" and per_post:
                    # Decay from the arrival to the step's end depends on the target.
                    r4 = rest[..., None]
                    arrive_i[conn.post] += np.einsum(
                        "pbi,pbij,pij->pbj", spikes, np.exp(-r4 / np.asarray(conn.tau_s)), w_k)
                    arrive_v[conn.post] += np.einsum(
                        "pbi,pbij,pij->pbj", spikes, _kernel(r4, post.tau_m, conn.tau_s), w_k)
                elif conn.synapse == "exponential":
                    ts = conn.tau_s
                    arrive_i[conn.post] += np.einsum(
                        "pbi,pij->pbj", spikes * np.exp(-rest / ts), w_k)
                    arrive_v[conn.post] += np.einsum(
                        "pbi,pij->pbj", spikes * _kernel(rest, post.tau_m, ts), w_k)
                elif per_post:
                    arrive_v[conn.post] += np.einsum(
                        "pbi,pbij,pij->pbj", spikes,
                        np.exp(-rest[..., None] / np.asarray(post.tau_m)), w_k) * np.asarray(
                            post.neuron_scale, dtype=np.float64)
                else:
                    arrive_v[conn.post] += float(post.neuron_scale) * np.einsum(
                        "pbi,pij->pbj", spikes * np.exp(-rest / post.tau_m), w_k)
                events.append((conn, spikes, w_k, off))
        new = [np.zeros(s) for s in shape]
        new_off = [np.zeros(s) for s in shape]
        for li, lay in enumerate(layers):
            if li == 0:
                continue
            if lay.kind != "lif":
                v[li] = v_end[li] + arrive_v[li] + float(lay.bias)
                cur[li] = cur_end[li] + arrive_i[li]
                continue
            ts = tau_s.get(li, 5.0)
            end_v = v_end[li] + arrive_v[li]
            theta = np.asarray(lay.v_thresh, dtype=np.float64)
            fired = end_v >= theta
            if fired.any():
                idx = np.nonzero(fired)
                crossing = _crossing_time(
                    idx, v[li], cur[li], events, li, layers, dt, lay, ts, iterations)
                i_at = _current_at(crossing, idx, cur[li], events, li, ts)
                rest = dt - crossing
                decay = _kernel(rest, _at(lay.tau_m, idx[2]), _at(ts, idx[2]))
                end_v[idx] = i_at * decay + _late_arrivals(
                    crossing, idx, events, li, dt, lay, ts)
                if np.any(end_v[idx] >= _at(theta, idx[2])):
                    raise ValueError("reference: two spikes of one neuron in one step; lower dt")
                new[li][idx] = 1.0
                new_off[li][idx] = crossing
                counts[li][idx] += 1
                if li == out_index:
                    hit = fired & (first < 0)
                    first[hit] = (n - 1) * dt + new_off[li][hit]
            v[li] = end_v
            cur[li] = cur_end[li] + arrive_i[li]
        for li in range(1, len(layers)):
            history[li] = [(new[li], new_off[li])] + history[li][:-1]
        if out.readout in ("sum_var", "avg_var", "avg_var_exp_weight", "max_var", "var"):
            vo = v[out_index]
            if out.readout == "sum_var":
                acc += vo
            elif out.readout == "avg_var":
                acc += vo / num_steps
            elif out.readout == "avg_var_exp_weight":
                acc += np.exp(-n / num_steps) * vo / num_steps
            elif out.readout == "max_var":
                acc = np.maximum(acc, vo)
            else:
                trace[:, n] = vo
    if out.readout == "first_spike_time":
        acc = np.where(first >= 0, -first, np.finfo(np.float32).min)
    elif out.readout == "var":
        acc = trace
    return acc, counts


def _state_at(s, idx, v0, i0, events, li, layers, lay, ts):
    """V of the neurons ``idx`` at offset ``s`` (array over idx) within the step."""
    p, b, j = idx
    val = _v_at(s, v0[idx], i0[idx], _at(lay.tau_m, j), _at(ts, j))
    tau_m, tau_s = _col(lay.tau_m, j), _col(ts, j)
    for conn, spikes, w, off in events:
        if conn.post != li:
            continue
        sp = spikes[p, b]  # (k, n_pre)
        lag = s[:, None] - off[p, b]
        on = sp * (lag > 0)
        wj = w[p, :, j]  # (k, n_pre)
        if conn.synapse == "exponential":
            val = val + np.sum(on * wj * _kernel(np.maximum(lag, 0.0), tau_m, tau_s), axis=1)
        else:
            val = val + np.sum(on * wj * np.exp(-np.maximum(lag, 0.0) / tau_m), axis=1)
    return val


def _late_arrivals(s, idx, events, li, dt, lay, ts):
    """V at the step's end caused by arrivals after offset ``s`` (after a reset at ``s``)."""
    p, b, j = idx
    val = np.zeros(len(p))
    tau_m, tau_s = _col(lay.tau_m, j), _col(ts, j)
    for conn, spikes, w, offsets in events:
        if conn.post != li:
            continue
        off = offsets[p, b]
        late = spikes[p, b] * (off >= s[:, None])
        rest = dt - off
        if conn.synapse == "exponential":
            val = val + np.sum(late * w[p, :, j] * _kernel(rest, tau_m, tau_s), axis=1)
        else:
            val = val + np.sum(late * w[p, :, j] * np.exp(-rest / tau_m), axis=1)
    return val


def _current_at(s, idx, i0, events, li, ts):
    p, b, j = idx
    val = i0[idx] * np.exp(-s / _at(ts, j))
    tau_s = _col(ts, j)
    for conn, spikes, w, off in events:
        if conn.post != li or conn.synapse != "exponential":
            continue
        lag = s[:, None] - off[p, b]
        on = spikes[p, b] * (lag > 0)
        val = val + np.sum(on * w[p, :, j] * np.exp(-np.maximum(lag, 0.0) / tau_s), axis=1)
    return val


def _crossing_time(idx, v0, i0, events, li, layers, dt, lay, ts, iterations):
    """First offset in (0, dt] where V reaches threshold (Illinois false position).

    V has at most one extremum inside a step, so with V(0) < theta <= V(dt)
    the bracket holds exactly one crossing.
    """
    theta = _at(np.asarray(lay.v_thresh, dtype=np.float64), idx[2])

    def f(s):
        return _state_at(s, idx, v0, i0, events, li, layers, lay, ts) - theta

    lo = np.zeros(len(idx[0]))
    hi = np.full(len(idx[0]), dt)
    f_lo, f_hi = f(lo), f(hi)
    side = np.zeros(len(lo))
    for _ in range(iterations):
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        mid = np.clip(mid, lo, hi)
        f_mid = f(mid)
        up = f_mid >= 0
        # Illinois: halve the weight of an end point kept twice in a row.
        f_lo = np.where(up & (side == 1), 0.5 * f_lo, f_lo)
        f_hi = np.where(~up & (side == -1), 0.5 * f_hi, f_hi)
        hi, f_hi = np.where(up, mid, hi), np.where(up, f_mid, f_hi)
        lo, f_lo = np.where(up, lo, mid), np.where(up, f_lo, f_mid)
        side = np.where(up, 1, -1)
        if np.all(hi - lo < 1e-13 * dt) or np.all(np.abs(f_mid) < 1e-14):
            break
    return np.where(np.abs(f_hi) <= np.abs(f_lo), hi, lo)


def central_differences(graph, weights, input_spikes, loss_of, conn, entries, eps):
    """``dL/dW[conn][entry]`` for each entry by central differences of the exact reference.

    ``loss_of(readout)`` maps one weight set's readout (B, K) to a float.
    Returns (slopes, stable): stable is False where the perturbation changed a
    spike count (the loss jumps there, no derivative).
    """
    sets = []
    for entry in entries:
        for sign in (1.0, -1.0):
            ws = [np.array(w, dtype=np.float64) for w in weights]
            ws[conn][entry] += sign * eps
            sets.append(ws)
    stacked = [np.stack([s[c] for s in sets]) for c in range(len(weights))]
    readout, counts = simulate_exact(graph, stacked, input_spikes)
    values = np.array([loss_of(r) for r in readout])
    slopes = (values[0::2] - values[1::2]) / (2 * eps)
    total = sum(c.reshape(len(sets), -1).sum(-1) for c in counts[1:])
    stable = total[0::2] == total[1::2]
    return slopes, stable

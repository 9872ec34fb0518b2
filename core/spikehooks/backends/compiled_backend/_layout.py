"""Flat arrays and tables of the compiled backend, with the NumPy backend's views on them.

The compiled kernel sees every population and connection as offsets into a
few flat arrays.  The per-population arrays of the NumPy backend's
:class:`PopulationState` / :class:`ConnectionState` are rebound to views of
those flat arrays, so everything the NumPy backend offers (the protocol,
weights, readouts, resets, inputs) reads and writes the compiled state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...connectivity import OneToOne
from ...neurons import (
    AdaptiveLeakyIntegrateFire,
    IntegrateFire,
    IntegrateFireInput,
    LeakyIntegrate,
    LeakyIntegrateFire,
    PoissonInput,
    SpikeInput,
)
from ...readouts import AvgVar, AvgVarExpWeight, FirstSpikeTime, MaxVar, SpikeCount, SumVar, Var
from ...synapses import Delta, Exponential
from . import _tables as T

_KINDS = ((IntegrateFireInput, T.IF_INPUT), (SpikeInput, T.SPIKE_INPUT),
          (PoissonInput, T.POISSON), (LeakyIntegrateFire, T.LIF), (IntegrateFire, T.IF),
          (LeakyIntegrate, T.LI), (AdaptiveLeakyIntegrateFire, T.ALIF))
_READOUTS = ((SumVar, T.SUM_VAR), (MaxVar, T.MAX_VAR), (AvgVar, T.AVG_VAR),
             (AvgVarExpWeight, T.AVG_EXP), (SpikeCount, T.SPIKE_COUNT),
             (FirstSpikeTime, T.FIRST_SPIKE),
             # var reads V itself: nothing to accumulate.
             (Var, T.NO_READOUT))


def kind_of(obj: Any, table: tuple) -> int | None:
    """Return the code of the first class in ``table`` that ``obj`` is an instance of."""
    for cls, code in table:
        if isinstance(obj, cls):
            return code
    return None


def neuron_kind(neuron: Any) -> int | None:
    """Return the kernel code of a neuron model, or None when there is no kernel for it."""
    return kind_of(neuron, _KINDS)


def readout_kind(readout: Any) -> int | None:
    """Return the kernel code of a readout (``NO_READOUT`` for None; None: no kernel)."""
    return T.NO_READOUT if readout is None else kind_of(readout, _READOUTS)


class Layout:
    """Column offsets of every array of a network, and the flat arrays themselves.

    Parameters
    ----------
    pops : dict of Population to PopulationState
        In creation order; their arrays are rebound to views of the flat arrays.
    conns : dict of Connection to ConnectionState
    batch_size, rec_steps, num_timesteps : int
    dt : float
        Step in ms.

    Attributes
    ----------
    fstate : numpy.ndarray of float32, shape (batch, columns)
        Variables, readouts, ``Isyn`` and separate ``inSyn`` of every population.
    spikes : numpy.ndarray of bool, shape (batch, spiking neurons)
    record : numpy.ndarray of uint32, shape (rec_steps, batch, words)
    weights : numpy.ndarray of float32
        Every connection's weight table (with its zero row), flat.
    delays : numpy.ndarray of int64
        Every delayed connection's per-synapse delays in timesteps, pre-major, flat
        (their delay rings are ``fstate`` columns, slot-major).
    pop_i, pop_f, conn_i, conn_f, inj, row_ptr, cols, consts, data_f, data_b
        Kernel tables (see :func:`._kernels.run_steps`).
    var_cols : dict of (Population, str) to int
        First ``fstate`` column of each variable (backend name, or ``"Isyn"``).
    spike_cols : dict of Population to int
        First ``spikes`` column of each spiking population.
    """

    def __init__(self, pops: dict, conns: dict, batch_size: int, rec_steps: int,
                 num_timesteps: int, dt: float):
        B = batch_size
        pop_list, conn_list = list(pops), list(conns)
        conn_index = {c: k for k, c in enumerate(conn_list)}
        self.var_cols: dict[tuple[Any, str], int] = {}
        self.spike_cols: dict[Any, int] = {}
        fcols = scols = words = dflt = wsize = uni = ptr = nrows = 0
        rec_cols: dict[Any, int] = {}
        data_cols: dict[Any, int] = {}
        for pop, pst in pops.items():
            n = pop.num_neurons
            for name in pst.vars:
                self.var_cols[pop, name] = fcols
                fcols += n
            if pst.isyn is not None:
                self.var_cols[pop, "Isyn"] = fcols
                fcols += n
            if pst.spikes is not None:
                self.spike_cols[pop] = scols
                scols += n
            if pst.record is not None:
                rec_cols[pop] = words
                words += pst.record.shape[2]
            if isinstance(pst.input, np.ndarray):
                data_cols[pop] = dflt
                dflt += pst.input.size
            elif isinstance(pst.input, tuple):
                data_cols[pop] = dflt
                dflt += pst.input[0].size
        lone = {}
        for pop in pop_list:
            incoming = pop.incoming
            lone[pop] = len(incoming) == 1 and isinstance(incoming[0].synapse, Delta)
        conn_cols: dict[Any, int] = {}
        weight_cols: dict[Any, int] = {}
        ring_cols: dict[Any, int] = {}
        delay_cols: dict[Any, int] = {}
        dsize = 0
        for conn, cst in conns.items():
            if not lone[conn.target]:
                conn_cols[conn] = fcols
                fcols += conn.target.num_neurons
            if cst.ring is not None:
                # The ring's slots (slot-major, then target neuron) and the delays.
                ring_cols[conn] = fcols
                fcols += cst.ring.shape[0] * conn.target.num_neurons
                delay_cols[conn] = dsize
                dsize += cst.delays.size
            weight_cols[conn] = wsize
            wsize += cst.table.size
            if cst.mask is not None and not isinstance(conn.connectivity, OneToOne):
                nrows += conn.source.num_neurons + 1
        self.fstate = np.zeros((B, max(fcols, 1)), dtype=np.float32)
        self.spikes = np.zeros((B, max(scols, 1)), dtype=bool)
        self.record = np.zeros((rec_steps, B, max(words, 1)), dtype=np.uint32)
        self.weights = np.zeros(max(wsize, 1), dtype=np.float32)
        self.delays = np.zeros(max(dsize, 1), dtype=np.int64)
        self._ring_cols, self._delay_cols = ring_cols, delay_cols
        self.data_f = np.zeros(max(dflt, 1), dtype=np.float32)
        # Poisson signs share the offsets of their limits in data_f.
        self.data_b = np.zeros(max(dflt, 1), dtype=bool)
        self.num_spike_columns = scols
        self.has_exp_weight = any(isinstance(pop.neuron.readout, AvgVarExpWeight)
                                  for pop in pop_list)

        # --- populations: rebind the NumPy backend's arrays to views of the flat ones.
        self.pop_i = np.full((len(pop_list), T.POP_INT_COLUMNS), -1, dtype=np.int64)
        self.pop_f = np.zeros((len(pop_list), T.POP_FLOAT_COLUMNS), dtype=np.float32)
        inj: list[int] = []
        consts: list[np.ndarray] = []
        self.poisson: list[tuple[Any, int]] = []
        self.spike_inputs: list[tuple[Any, int]] = []
        for p, (pop, pst) in enumerate(pops.items()):
            n, neuron = pop.num_neurons, pop.neuron
            row, frow = self.pop_i[p], self.pop_f[p]
            row[T.P_KIND], row[T.P_N] = neuron_kind(neuron), n
            for name in list(pst.vars):
                pst.vars[name] = _rebind(self._fview(pop, name, n), pst.vars[name])
            pst.readonly = {name: _readonly(arr) for name, arr in pst.vars.items()}
            for col, name in ((T.P_V, "V"), (T.P_REFRAC, "RefracTime"), (T.P_INPUT, "Input"),
                              (T.P_A, "A")):
                row[col] = self.var_cols.get((pop, name), -1)
            if pst.isyn is not None:
                row[T.P_ISYN] = self.var_cols[pop, "Isyn"]
                pst.isyn = _rebind(self._fview(pop, "Isyn", n), pst.isyn)
            if pst.spikes is not None:
                s0 = row[T.P_SPIKE] = self.spike_cols[pop]
                pst.spikes = _rebind(self.spikes[:, s0:s0 + n], pst.spikes)
            if pst.record is not None:
                w0 = row[T.P_REC] = rec_cols[pop]
                pst.record = _rebind(self.record[:, :, w0:w0 + pst.record.shape[2]], pst.record)
            readout = neuron.readout
            row[T.P_READOUT] = readout_kind(readout)
            if readout is not None:
                row[T.P_ACC] = self.var_cols[pop, readout.var_name]
            row[T.P_FRAMES] = getattr(neuron, "input_frames", 1)
            row[T.P_FRAME_STEPS] = getattr(neuron, "input_frame_timesteps", 1)
            if pop in data_cols:
                d0 = row[T.P_DATA] = data_cols[pop]
                if isinstance(pst.input, np.ndarray):
                    pst.input = _rebind(self.data_f[d0:d0 + pst.input.size]
                                        .reshape(pst.input.shape), pst.input)
                else:
                    limit, positive = pst.input
                    pst.input = (
                        _rebind(self.data_f[d0:d0 + limit.size].reshape(limit.shape), limit),
                        _rebind(self.data_b[d0:d0 + limit.size].reshape(limit.shape),
                                positive),
                    )
            if isinstance(neuron, PoissonInput):
                row[T.P_UNIFORM] = uni
                self.poisson.append((pop, uni))
                uni += B * n
            if isinstance(neuron, SpikeInput):
                row[T.P_POINTER] = ptr
                self.spike_inputs.append((pop, ptr))
                ptr += B * n
            if pst.bias is not None and (pst.bias_trained or bool(np.any(pst.bias != 0.0))):
                row[T.P_BIAS] = sum(len(c) for c in consts)
                consts.append(np.asarray(pst.bias, dtype=np.float32).reshape(-1))
            self._population_constants(pop, row, frow, num_timesteps, dt)
            row[T.P_INJ_START], row[T.P_INJ_COUNT] = len(inj), len(pop.incoming)
            row[T.P_LONE_DELTA] = int(lone[pop])
            inj.extend(conn_index[c] for c in pop.incoming)
        self.inj = np.asarray(inj or [0], dtype=np.int64)
        self.num_uniform_columns = uni
        self.num_pointers = ptr
        self._connections(conns, conn_cols, weight_cols, nrows, pops, dt, consts)
        self.consts = np.concatenate(consts) if consts else np.zeros(1, dtype=np.float32)
        for p, (pop, pst) in enumerate(pops.items()):
            # A bias in the table is the population's bias: a trainer writes it in place.
            b0 = int(self.pop_i[p, T.P_BIAS])
            if b0 >= 0:
                pst.bias = _rebind(self.consts[b0:b0 + pop.num_neurons], pst.bias)

    def _fview(self, pop: Any, name: str, n: int) -> np.ndarray:
        c0 = self.var_cols[pop, name]
        return self.fstate[:, c0:c0 + n]

    def _population_constants(self, pop: Any, row: np.ndarray, frow: np.ndarray,
                              num_timesteps: int, dt: float) -> None:
        """Fill the population's constants: numbers in the float table, or for a
        parameter given per neuron the fstate column of its GeNN variable."""
        neuron = pop.neuron
        f32 = np.float32
        hetero = neuron.heterogeneous()
        for user, col in (("v_thresh", T.P_THRESH_VAR), ("v_reset", T.P_RESET_VAR),
                          ("tau_mem", T.P_ALPHA_VAR), ("tau_refrac", T.P_TREFRAC_VAR),
                          ("beta", T.P_BETA_VAR), ("tau_adapt", T.P_RHO_VAR)):
            if user in hetero:
                row[col] = self.var_cols[pop, hetero[user]]
        if hasattr(neuron, "v_thresh"):
            thresh = f32(0.0) if "v_thresh" in hetero else f32(neuron.v_thresh)
            reset = f32(0.0) if "v_reset" in hetero else f32(neuron.v_reset)
            frow[T.PF_THRESH], frow[T.PF_RESET], frow[T.PF_DROP] = thresh, reset, thresh - reset
        if isinstance(neuron, AdaptiveLeakyIntegrateFire):
            _adaptive_constants(neuron, hetero, frow, dt)
        elif hasattr(neuron, "tau_mem") and "tau_mem" not in hetero:
            alpha = neuron.alpha(dt)
            frow[T.PF_ALPHA], frow[T.PF_ONE_MINUS_ALPHA] = alpha, f32(1.0) - alpha
        frow[T.PF_AVG_SCALE] = f32(1.0 / num_timesteps)
        frow[T.PF_DT] = f32(dt)
        flags = 0
        if getattr(neuron, "scale_i", False):
            flags |= T.SCALE_I
        if getattr(neuron, "relative_reset", False):
            flags |= T.RELATIVE_RESET
        if getattr(neuron, "tau_refrac", None) is not None:
            flags |= T.REFRACTORY
            if "tau_refrac" not in hetero:
                frow[T.PF_TAU_REFRAC] = f32(neuron.tau_refrac)
        if getattr(neuron, "integrate_during_refrac", False):
            flags |= T.INTEGRATE_IN_REFRAC
        row[T.P_FLAGS] = flags

    def _connections(self, conns: dict, conn_cols: dict, weight_cols: dict, nrows: int,
                     pops: dict, dt: float, consts: list[np.ndarray]) -> None:
        self.conn_i = np.full((max(len(conns), 1), T.CONN_INT_COLUMNS), -1, dtype=np.int64)
        self.conn_f = np.zeros((max(len(conns), 1), T.CONN_FLOAT_COLUMNS), dtype=np.float32)
        row_ptr = np.zeros(max(nrows, 1), dtype=np.int64)
        cols: list[np.ndarray] = []
        r0 = nnz = 0
        for c, (conn, cst) in enumerate(conns.items()):
            row, frow = self.conn_i[c], self.conn_f[c]
            n_pre, n_post = conn.source.num_neurons, conn.target.num_neurons
            row[T.C_PRE], row[T.C_POST] = n_pre, n_post
            row[T.C_SRC_SPIKE] = self.spike_cols[conn.source]
            if conn in conn_cols:
                o0 = row[T.C_OUT] = conn_cols[conn]
                # A fresh ConnectionState has no accumulator yet: it starts at 0.
                cst.in_syn = self.fstate[:, o0:o0 + n_post]
            else:
                row[T.C_OUT] = self.var_cols[conn.target, "Isyn"]
                cst.in_syn = pops[conn.target].isyn
            w0 = row[T.C_WEIGHT] = weight_cols[conn]
            cst.table = _rebind(self.weights[w0:w0 + cst.table.size].reshape(cst.table.shape),
                                cst.table)
            cst.weight = cst.table[:-1]
            cst.readonly_weight = _readonly(cst.weight)
            synapse = conn.synapse
            row[T.C_EXPONENTIAL] = int(isinstance(synapse, Exponential))
            row[T.C_ONE_TO_ONE] = int(isinstance(conn.connectivity, OneToOne))
            row[T.C_SCALED] = 0
            if isinstance(synapse, Exponential) and synapse.heterogeneous:
                # One ExpDecay (and IScale) per target neuron, in the constants array.
                row[T.C_DECAY_AT] = sum(len(k) for k in consts)
                consts.append(synapse.exp_decay(dt))
                if synapse.scale_i:
                    row[T.C_SCALED], row[T.C_ISCALE_AT] = 1, sum(len(k) for k in consts)
                    consts.append(synapse.i_scale(dt))
            elif isinstance(synapse, Exponential):
                frow[T.CF_DECAY] = synapse.exp_decay(dt)
                if synapse.scale_i:
                    row[T.C_SCALED], frow[T.CF_ISCALE] = 1, synapse.i_scale(dt)
            if conn in self._ring_cols:
                size, r0c = cst.ring.shape[0], self._ring_cols[conn]
                row[T.C_RING], row[T.C_RING_SIZE] = r0c, size
                view = self.fstate[:, r0c:r0c + size * n_post].reshape(-1, size, n_post)
                # NumPy's ring layout (slot, batch, post) as a view of the flat state.
                cst.ring = _rebind(view.transpose(1, 0, 2), cst.ring)
                d0 = row[T.C_DELAY] = self._delay_cols[conn]
                self.delays[d0:d0 + cst.delays.size] = cst.delays.reshape(-1)
            if cst.mask is not None and not row[T.C_ONE_TO_ONE]:
                row[T.C_ROW_START] = r0
                counts = cst.mask.sum(axis=1)
                row_ptr[r0] = nnz
                row_ptr[r0 + 1:r0 + n_pre + 1] = nnz + np.cumsum(counts)
                cols.append(np.nonzero(cst.mask)[1].astype(np.int64))
                nnz += int(counts.sum())
                r0 += n_pre + 1
        self.row_ptr = row_ptr
        self.cols = np.concatenate(cols) if cols else np.zeros(1, dtype=np.int64)


def exp_step_weights(num_timesteps: int, count: int) -> np.ndarray:
    """avg_var_exp_weight's float32 weight of steps ``0 .. count - 1``, as NumPy's backend has it.

    Parameters
    ----------
    num_timesteps : int
        ``T``, the backend's steps per example.
    count : int
        Steps to cover (``count > T`` when a run goes on past ``T``).

    Returns
    -------
    numpy.ndarray of float32, shape (count,)
        ``float32(exp(-t / T)) * float32(1 / T)`` for step ``t``, each computed
        like the NumPy backend's scalar (no vectorised ``exp``, which may round
        differently).
    """
    return np.array([np.float32(np.exp(-t / num_timesteps)) * np.float32(1.0 / num_timesteps)
                     for t in range(count)], dtype=np.float32)


def _adaptive_constants(neuron: Any, hetero: dict, frow: np.ndarray, dt: float) -> None:
    """ALIF's ``Alpha``, ``Rho`` and ``Beta`` in the float table (those not given per
    neuron), computed as the NumPy backend computes them: ``float32(exp(-dt / tau))``
    with NumPy's ``exp`` (``dt`` and ``tau`` in ms)."""
    if "tau_mem" not in hetero:
        frow[T.PF_ALPHA] = np.float32(np.exp(-dt / neuron.tau_mem))
    if "tau_adapt" not in hetero:
        frow[T.PF_RHO] = np.float32(np.exp(-dt / neuron.tau_adapt))
    if "beta" not in hetero:
        frow[T.PF_BETA] = np.float32(neuron.beta)


def _rebind(view: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Copy ``old`` into ``view`` (a slice of a flat array) and return the view."""
    view[...] = old
    return view


def _readonly(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


__all__ = ["Layout", "exp_step_weights", "neuron_kind", "readout_kind"]

"""One batch's learning step of :class:`CompiledTrainingNetwork`: loss, backward, update.

A mixin of :class:`~spikehooks.compilers.CompiledTrainingNetwork`, called
after each training batch's forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..connectivity import TiedConnectivity
from ..losses import RelativeMeanSquareError
from ..metrics import SparseCategoricalAccuracy
from ..optimisers import Adam
from ..training import OutputDrive, backward, output_drive
from ..training._forward import with_output
from ..training._per_timestep import per_timestep_drive
from ._kernel_times import timed


class LearnStep:
    """The backward pass and optimiser step of a batch (mixin; see :meth:`_learn`)."""

    compiler: Any
    graph: Any
    parallel: Any
    optimisers: list[tuple[Any, list[str]]]
    backend: Any
    loss: Any
    populations: list[Any]
    batch_size: int
    kernel_times: Any
    clamped_jumps: int
    last_gradients: dict[str, np.ndarray]
    update_metrics: Any
    get_batch_readouts: Any
    _conns: list[Any]
    _recorder: Any
    _finite: Any
    _delays: Any

    def _learn(self, labels: np.ndarray, targets: dict, metric_objs: dict,
               indices: np.ndarray, epoch: int, batch: int) -> tuple[float, int]:
        """Backward pass and optimiser step for the batch just simulated; update the metrics.

        Data-parallel, every rank first gathers the batch's readouts and
        labels of all ranks (so the loss, its drive and the metrics are those
        of the global batch, bit for bit), then sums its examples' gradients
        and adds the ranks' sums with one allreduce.

        Returns
        -------
        loss : float
            Mean loss over the (global) batch.
        count : int
            Examples in the (global) batch.
        """
        compiler, graph, par = self.compiler, self.graph, self.parallel
        optimiser, keys = self.optimisers[0]
        fixed = self._learn_constants()
        times = self.kernel_times
        fwd = self._recorder.result()
        real = len(indices)
        readout, event, y_batch = fwd.readout[:real], fwd.event_step[:real], labels[indices]
        regularised = compiler.regularised
        counts = self._spike_counts(fwd, real) if regularised else None
        offset, total = 0, real
        if par is None and fwd.output_v is not None and fixed.trace_targets:
            # Metrics of a per-timestep mean square error see the trace, (batch, steps, K).
            trace = np.transpose(fwd.output_v[:, :real], (1, 0, 2))
            for pop, metric in metric_objs.items():
                metric.update(targets[pop][indices], trace)
        elif par is None:
            if not (fixed.compiled and _compiled_accuracy(metric_objs, targets, indices, readout,
                                                          fixed.kernels)):
                self.update_metrics(metric_objs, targets, indices)
        else:
            # The global batch's readouts, labels and spike counts; metrics updated with
            # them, and rank 0's optimiser hyperparameters (schedules decide on rank 0).
            (readout, event, y_batch, counts), offset, total = par.exchange_batch(
                (readout, event, y_batch, counts), optimiser, metric_objs,
                {pop: targets[pop][indices] for pop in metric_objs},
                self.get_batch_readouts(list(metric_objs)))
        if graph.per_timestep:
            assert fwd.output_v is not None  # kept when graph.per_timestep
            value, drive = per_timestep_drive(
                with_output(fwd, readout, event, fwd.output_v[:, :real]), y_batch, self.loss)
        elif (fixed.compiled and par is None and fixed.readout_kind == "first_spike_time"
              and type(self.loss) is RelativeMeanSquareError):
            # mlGeNN's Yin-Yang loss: compiled, output_drive's bits (training/_drive_kernels).
            spike_time_grad = np.empty(readout.shape)
            value = float(fixed.kernels.ttfs_relative_mse(
                readout, event, np.asarray(y_batch, dtype=np.int64), graph.num_steps * graph.dt,
                self.loss.delta, spike_time_grad))
            drive = OutputDrive(np.zeros(readout.shape), spike_time_grad,
                                np.zeros(readout.shape))
        else:
            value, drive = output_drive(
                fixed.readout_kind,
                with_output(fwd, readout, event), y_batch, self.loss,
                num_steps=graph.num_steps, dt=graph.dt,
                softmax_temperature=compiler.softmax_temperature, ttfs_alpha=compiler.ttfs_alpha,
            )
        step_grad = None
        if drive.step_grad is not None:
            step_grad = np.zeros((graph.num_steps, self.batch_size, drive.step_grad.shape[2]))
            step_grad[:, :real] = drive.step_grad
        batch_size = self.batch_size
        drive = OutputDrive(_pad(drive.readout_grad, offset, real, batch_size),
                            _pad(drive.spike_time_grad, offset, real, batch_size),
                            _pad(drive.final_kick, offset, real, batch_size), step_grad)
        backend = self.backend
        weights = [backend.get_weight(conn) for conn in self._conns]
        # A tied connection's kernel goes into the sweep as it is: its gradient is summed
        # per example over the synapses sharing each kernel entry (training/_backward_tied).
        with timed(times, "backward"):
            result = self._backward(graph, weights, fwd, drive, fixed.tied,
                                    reg=self._regulariser(counts, total, real)
                                    if regularised else None,
                                    min_denominator=compiler.min_jump_denominator,
                                    num_examples=real, **self._delay_kwargs())
        self.clamped_jumps += result.clamped
        grads = result.gradients
        delay_grads: dict[int, np.ndarray] = {}
        if result.delay_gradients or par is not None:
            learn = sorted(result.delay_gradients)
            both = grads + [result.delay_gradients[i] for i in learn]
            both = both if par is None else par.reduce_gradients(both)
            grads = both[:len(result.gradients)]
            delay_grads = dict(zip(learn, both[len(result.gradients):], strict=True))
        # Non-finite losses and gradients are caught before the step, weights after it;
        # every rank sees the same global values, so every rank decides the same.
        self._finite.before_update(epoch, batch, value, grads, weights)
        if keys == fixed.weight_keys:
            # Every connection learns (the usual case): the keys in the arrays' order.
            self.last_gradients = dict(zip(keys, grads, strict=True))
            weights_by_key = dict(zip(keys, weights, strict=True))
        else:
            by_key = dict(zip(fixed.weight_keys, zip(weights, grads, strict=True), strict=True))
            self.last_gradients = {key: by_key[key][1] for key in keys}
            weights_by_key = {key: by_key[key][0] for key in keys}
        if fixed.compiled and type(optimiser) is Adam:
            # Adam itself (not a subclass, which may change the update): compiled, same bits.
            with timed(times, "update"):
                optimiser.update_compiled(weights_by_key, self.last_gradients)
        else:
            with np.errstate(over="ignore", invalid="ignore"), timed(times, "update"):
                # (the guard reports over/invalid itself)
                optimiser.update(weights_by_key, self.last_gradients)
        self._finite.after_update(epoch, batch, weights)
        if self._delays is not None:
            # mlGeNN's order: the delays move after the weights, with their own optimiser.
            with timed(times, "update"):
                self.last_gradients.update(self._delays.step(delay_grads))
        return value, total

    def _learn_constants(self) -> _LearnConstants:
        """What every batch's learning step reads and that never changes, built once."""
        fixed = self.__dict__.get("_learn_fixed")
        if fixed is None:
            graph = self.graph
            tied = [c.connectivity if isinstance(c.connectivity, TiedConnectivity) else None
                    for c in self._conns]
            compiled = getattr(self.backend, "name", None) == "compiled"
            fixed = self.__dict__["_learn_fixed"] = _LearnConstants(
                readout_kind=graph.layers[graph.output].readout,
                trace_targets=self.trace_targets,  # type: ignore[attr-defined]
                tied=tied,
                weight_keys=[f"{c.name}/weight" for c in self._conns],
                compiled=compiled,
                any_tied=any(t is not None for t in tied),
                kernels=_CompiledSteps() if compiled else None,
            )
        return fixed

    def _delay_kwargs(self) -> dict[str, Any]:
        """The backward pass's ``delay_learn`` argument when delays are learned."""
        if self._delays is None:
            return {}
        return {"delay_learn": tuple(sorted(index for index, _ in self._delays.entries))}

    def _backward(self, graph: Any, weights: list[np.ndarray], fwd: Any, drive: Any,
                  tied: list[Any], **kwargs: Any) -> Any:
        """The backward sweep: compiled on the compiled backend, else NumPy's.

        NumPy's sweeps tied connections through their kernels.  The compiled
        sweep has dense tables only; the compiled backend refuses tied
        connectivity, so a tied connection reaches it only through a direct
        call, and is then expanded and its gradient summed back.
        """
        # Delays have no compiled backward code: the NumPy sweep (the same gradients).
        # (Learned delays may appear on a connection between batches: checked every batch.)
        fixed = self._learn_constants()
        if fixed.compiled and all(conn.delays is None for conn in graph.conns):
            backward_compiled = fixed.kernels.backward_compiled
            threads = getattr(self.backend, "num_threads", None)
            if not fixed.any_tied:
                return backward_compiled(graph, weights, fwd, drive, num_threads=threads,
                                         **kwargs)
            dense = [w if t is None else t.expand(w) for w, t in zip(weights, tied, strict=True)]
            result = backward_compiled(graph, dense, fwd, drive, num_threads=threads, **kwargs)
            result.gradients = [g if t is None else t.reduce(g)
                                for g, t in zip(result.gradients, tied, strict=True)]
            return result
        return backward(graph, weights, fwd, drive, tied=tied, **kwargs)

    def _spike_counts(self, fwd: Any, real: int) -> list[np.ndarray]:
        """Spikes per neuron of every layer over the batch's real examples (int64)."""
        if fwd.records is not None:
            return fwd.records.spike_counts(real)
        return [s[:, :real].sum(axis=(0, 1), dtype=np.int64) for s in fwd.spikes]

    def _regulariser(self, counts: list[np.ndarray] | None, total: int,
                     real: int) -> list[np.ndarray | None] | None:
        """mlGeNN's firing-rate regulariser as ``q`` increments per hidden layer.

        ``counts`` are spike counts per neuron over the ``total`` examples of
        the (global) batch; the increments fill this rank's ``real`` rows.
        """
        compiler, graph = self.compiler, self.graph
        if not compiler.regularised or counts is None:
            return None
        out = graph.layers[graph.output]
        # mlGeNN's drive carries 1 / tau_m of the output (the mean, with tau_mem per output
        # neuron, keeps reg_lambda's meaning: docs/training.md); per-timestep losses have
        # avg_var's ratio, tau_m.
        out_tau = float(np.mean(out.tau_m))
        scale = out_tau if graph.per_timestep else {
            "avg_var": out_tau, "avg_var_exp_weight": out_tau, "first_spike_time": 1.0}.get(
            out.readout, out_tau * graph.num_steps)
        terms: list[np.ndarray | None] = []
        for index, (pop, lay) in enumerate(zip(self.populations, graph.layers, strict=True)):
            if lay.kind != "lif" or index == graph.output:
                terms.append(None)
                continue
            upper, lower, nu = compiler.reg_params(pop)
            excess = counts[index].astype(np.float64) - total * nu
            strength = np.where(excess > 0, upper, lower)
            term = np.zeros((self.batch_size, lay.size))
            term[:real] = lay.tau_m * scale * strength * excess / total**2
            terms.append(term)
        return terms


def _compiled_accuracy(metric_objs: dict, targets: dict, indices: np.ndarray,
                       readout: np.ndarray, kernels: Any) -> bool:
    """Update a lone :class:`SparseCategoricalAccuracy` with a compiled count; False if not that.

    ``readout`` is the output's float32 (batch, K) readout of the batch's
    real examples, the values ``update_metrics`` would read from the backend.
    """
    if len(metric_objs) != 1:
        return False
    ((pop, metric),) = metric_objs.items()
    if type(metric) is not SparseCategoricalAccuracy or readout.dtype != np.float32:
        return False
    labels = np.asarray(targets[pop][indices], dtype=np.int64)
    metric.correct += int(kernels.count_correct(readout, labels))
    metric.total += len(labels)
    return True


@dataclass
class _LearnConstants:
    """A training network's fixed facts the learning step reads every batch."""

    #: The output layer's readout.
    readout_kind: str
    #: Per-timestep loss against target traces.
    trace_targets: bool
    #: Per connection: its TiedConnectivity, or None.
    tied: list[Any]
    #: Per connection: ``"<name>/weight"``.
    weight_keys: list[str]
    #: The backend is the compiled one (compiled optimiser step and finiteness check).
    compiled: bool
    #: Some connection is tied (convolution, pooling).
    any_tied: bool
    #: The compiled pieces of the step (None off the compiled backend).
    kernels: Any


class _CompiledSteps:
    """The compiled functions the learning step calls, imported once per network
    (an import statement in the batch loop costs a microsecond a call)."""

    def __init__(self) -> None:
        from ..training._backward_compiled import backward_compiled
        from ..training._drive_kernels import count_correct, ttfs_relative_mse

        self.backward_compiled = backward_compiled
        self.count_correct = count_correct
        self.ttfs_relative_mse = ttfs_relative_mse


def _pad(array: np.ndarray, offset: int, real: int, batch: int) -> np.ndarray:
    """Rows ``offset .. offset + real`` of ``array`` as float64, zero rows up to ``batch``.

    A whole float64 batch (no padding, no other rank's rows) is returned as
    it is: the backward pass only reads the drive.
    """
    if offset == 0 and real == batch == len(array) and array.dtype == np.float64:
        return array
    padded = np.zeros((batch, *array.shape[1:]))
    padded[:real] = array[offset:offset + real]
    return padded

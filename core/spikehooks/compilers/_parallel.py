"""Data parallelism of a compiled network: sharding, agreement between ranks, reductions.

One :class:`DataParallel` belongs to a compiled network built with a
communicator.  Every method is collective: every rank calls it at the same
point of the run.  ``docs/scale-out.md`` describes the protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ..communicators.tree import shard_sizes
from ..errors import ConfigurationError, SpikehooksError

T = TypeVar("T")


def network_signature(compiled: Any) -> list[tuple[Any, ...]]:
    """Describe what must be equal on every rank: compiler settings, populations, weights."""
    compiler = compiled.compiler
    sig: list[tuple[Any, ...]] = [
        ("compiler", type(compiler).__name__),
        ("batch_size", compiled.batch_size),
        ("num_timesteps", compiled.num_timesteps),
        ("dt", compiled.dt),
        ("rng_seed", compiler.rng_seed),
    ]
    for pop in compiled.network.populations:
        sig.append(("population", pop.name, tuple(pop.shape), type(pop.neuron).__name__))
    for key, array in sorted(compiled.backend.get_learnable_state().items()):
        sig.append(("learnable", key, tuple(array.shape), str(array.dtype)))
    sig.extend(_per_neuron_signature(compiled))
    return sig


def _per_neuron_signature(compiled: Any) -> list[tuple[Any, ...]]:
    """Digests of per-neuron parameters: ranks must simulate the same neurons (an array
    drawn without a seed differs from rank to rank, and only weights are shared)."""
    sig: list[tuple[Any, ...]] = []
    for pop in compiled.network.populations:
        for genn in sorted(pop.neuron.heterogeneous().values()):
            values = np.ascontiguousarray(compiled.backend.get_var(pop, genn)[0])
            sig.append(("per-neuron", pop.name, genn,
                        hashlib.sha256(values.tobytes()).hexdigest()))
    for conn in compiled.network.connections:
        tau = getattr(conn.synapse, "tau", None)
        if isinstance(tau, np.ndarray):
            sig.append(("per-neuron", conn.name, "tau",
                        hashlib.sha256(np.ascontiguousarray(tau).tobytes()).hexdigest()))
    return sig


class DataParallel:
    """The collective steps of data-parallel ``train``/``evaluate`` on one rank.

    Parameters
    ----------
    communicator : Communicator
        The ranks of the run.
    """

    def __init__(self, communicator: Any):
        self.comm = communicator
        self.rank = int(communicator.rank)
        self.num_ranks = int(communicator.num_ranks)

    # ------------------------------------------------------------ agreement
    def check_compiled(self, compiled: Any) -> None:
        """Refuse networks that differ between ranks, then give every rank rank 0's weights.

        Raises
        ------
        ConfigurationError
            On every rank, naming the first rank whose network differs from rank 0's.
        """
        signatures = self.comm.allgather(network_signature(compiled))
        reference = signatures[0]
        for rank, sig in enumerate(signatures[1:], start=1):
            if sig != reference:
                diff = next((pair for pair in zip(reference, sig, strict=False)
                             if pair[0] != pair[1]), (reference[len(sig):], sig[len(reference):]))
                raise ConfigurationError(
                    f"compiled network on rank {rank} must match rank 0's; got {diff[1]!r} where "
                    f"rank 0 has {diff[0]!r}. Build the same network with the same compiler "
                    f"settings on every rank."
                )
        self.broadcast_learnable(compiled.backend)

    def broadcast_learnable(self, backend: Any) -> None:
        """Overwrite every rank's learnable state with rank 0's."""
        state = self.comm.broadcast_object(
            backend.get_learnable_state() if self.rank == 0 else None, 0)
        if self.rank != 0:
            backend.set_learnable_state(state)

    def checked(self, prepare: Callable[[], T]) -> T:
        """Run ``prepare`` (argument checks) on every rank; raise everywhere if one rank failed.

        A bad input on one rank's shard then stops every rank with the same
        :class:`ConfigurationError` naming that rank, before any collective
        of the run could hang.
        """
        result: Any = None
        error: BaseException | None = None
        try:
            result = prepare()
        except SpikehooksError as exc:
            error = exc
        reports = self.comm.allgather(
            None if error is None else f"{type(error).__name__}: {error}")
        failed = [(rank, text) for rank, text in enumerate(reports) if text is not None]
        if failed:
            if error is not None:
                raise error
            rank, text = failed[0]
            raise ConfigurationError(
                f"data-parallel run must pass its checks on every rank; got on rank {rank}: "
                f"{text}"
            )
        return result

    def agree_num_examples(self, num_examples: int, shard: bool, owner: str) -> list[int]:
        """Return every rank's example count; with ``shard`` they must all be equal."""
        counts = [int(n) for n in self.comm.allgather(int(num_examples))]
        if shard and len(set(counts)) > 1:
            raise ConfigurationError(
                f"{owner} with shard=True must get the same full data set on every rank; got "
                f"{counts} examples on ranks 0..{self.num_ranks - 1}. Pass the whole data set "
                f"on every rank, or shard=False with each rank's own slice."
            )
        return counts

    # ------------------------------------------------------------ batching
    def plan(self, order: np.ndarray, batch_size: int, shard: bool,
             counts: list[int]) -> list[np.ndarray]:
        """Return this rank's example indices for every batch of one pass over the data.

        Parameters
        ----------
        order : numpy.ndarray of int64
            Example indices in the order of the pass (shuffled or not).
        batch_size : int
            Examples per rank and batch.
        shard : bool
            True: ``order`` is the global order, identical on every rank;
            each global batch of ``batch_size * num_ranks`` is split with
            :func:`spikehooks.communicators.shard_sizes`.  False: ``order``
            indexes this rank's own data; ranks with fewer batches than the
            others get empty ones, so every rank runs the same collectives.
        counts : list of int
            Every rank's number of examples in the pass.
        """
        if shard:
            size = batch_size * self.num_ranks
            local = []
            for start in range(0, len(order), size):
                chunk = order[start:start + size]
                sizes = shard_sizes(len(chunk), self.num_ranks)
                offset = sum(sizes[:self.rank])
                local.append(chunk[offset:offset + sizes[self.rank]])
            return local
        local = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        num_batches = max(-(-n // batch_size) for n in counts)
        return local + [order[:0]] * (num_batches - len(local))

    # ------------------------------------------------------------ per batch
    def exchange(self, part: dict[str, Any]) -> tuple[dict[str, Any], int, list[int]]:
        """Gather every rank's per-batch arrays (readouts, targets...) in rank order.

        Returns
        -------
        joined : dict
            Each key's arrays concatenated over ranks along axis 0, except
            ``"rank0"``, which is rank 0's value.
        offset : int
            Where this rank's rows start in the joined arrays.
        sizes : list of int
            Rows of each rank (the length of ``part["readout"]``).
        """
        parts = self.comm.allgather(part)
        sizes = [len(p["readout"]) for p in parts]
        joined: dict[str, Any] = {}
        for key in part:
            if key == "rank0":
                joined[key] = parts[0][key]
            elif key == "counts":
                joined[key] = None if part[key] is None else [
                    np.sum([p[key][i] for p in parts], axis=0) for i in range(len(part[key]))]
            else:
                joined[key] = np.concatenate([p[key] for p in parts])
        return joined, sum(sizes[:self.rank]), sizes

    def exchange_batch(self, batch: tuple[Any, Any, Any, Any], optimiser: Any,
                       metrics: dict[Any, Any], targets: dict[Any, np.ndarray],
                       readouts: dict[Any, np.ndarray]) -> tuple[tuple[Any, ...], int, int]:
        """The training batch's one allgather: what the loss, regulariser and metrics need.

        Parameters
        ----------
        batch : (readout, event_step, labels, spike counts or None)
            This rank's real examples (the counts summed over them).
        optimiser : Optimiser
            Takes rank 0's hyperparameters.
        metrics, targets, readouts : dict
            Per output: metric, this rank's targets and readouts; the metrics
            are updated with every rank's.

        Returns
        -------
        joined : tuple
            ``batch`` over every rank (examples in rank order, counts summed).
        offset : int
            Where this rank's examples start in ``joined``.
        total : int
            Examples in the global batch.
        """
        readout, event, labels, counts = batch
        part: dict[str, Any] = {
            "readout": readout, "event": event, "labels": labels, "counts": counts,
            "rank0": {name: getattr(optimiser, name) for name in optimiser.param_names},
        }
        for i, pop in enumerate(metrics):
            part[f"y{i}"] = targets[pop]
            part[f"r{i}"] = readouts[pop]
        joined, offset, sizes = self.exchange(part)
        for name, value in joined["rank0"].items():
            setattr(optimiser, name, value)
        for i, metric in enumerate(metrics.values()):
            metric.update(joined[f"y{i}"], joined[f"r{i}"])
        return ((joined["readout"], joined["event"], joined["labels"], joined["counts"]),
                offset, sum(sizes))

    def reduce_gradients(self, gradients: list[np.ndarray]) -> list[np.ndarray]:
        """Sum each rank's partial gradients with one allreduce of one flat float64 vector."""
        flat = np.concatenate([g.ravel() for g in gradients]) if gradients else np.zeros(0)
        total = self.comm.allreduce(flat)
        out, start = [], 0
        for g in gradients:
            out.append(total[start:start + g.size].reshape(g.shape))
            start += g.size
        return out

    def decide(self, value: T) -> T:
        """Return rank 0's ``value`` on every rank (stop flags, hyperparameters)."""
        return self.comm.broadcast_object(value if self.rank == 0 else None, 0)

    def update_metrics(self, metrics: dict[Any, Any], targets: dict[Any, np.ndarray],
                       readouts: dict[Any, np.ndarray]) -> None:
        """Update ``metrics`` with every rank's targets and readouts of this batch."""
        pops = list(metrics)
        part: dict[str, Any] = {"readout": readouts[pops[0]]}
        for i, pop in enumerate(pops):
            part[f"y{i}"] = targets[pop]
            part[f"r{i}"] = readouts[pop]
        joined, _, _ = self.exchange(part)
        for i, pop in enumerate(pops):
            metrics[pop].update(joined[f"y{i}"], joined[f"r{i}"])

    def fail(self, exc: BaseException) -> None:
        """End the whole job, naming this rank and ``exc`` (with more than one rank)."""
        if self.num_ranks > 1:
            self.comm.abort_on_error(exc)


__all__ = ["DataParallel", "network_signature"]

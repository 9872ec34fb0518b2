"""mlGeNN's batch-wise evaluation: ``evaluate_batch_iter`` and ``evaluate_batch``.

Where ``evaluate`` takes a whole data set, these take the data one batch
at a time (from a generator that loads it lazily, say).  Every batch is at
most the compiler's ``batch_size`` examples; the callbacks see one test run,
its examples counted from 0 across the batches, as mlGeNN's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..callbacks.callback_list import CallbackList
from ..errors import ConfigurationError
from . import _data


def _as_tuple(pops: Any) -> tuple[Any, ...]:
    return tuple(pops) if isinstance(pops, (list, tuple)) else (pops,)


def _batch_dicts(inputs: tuple[Any, ...], outputs: tuple[Any, ...], item: Any,
                 owner: str) -> tuple[dict, dict]:
    """``{input: x}`` and ``{output: y}`` of one ``(x, y)`` item of the iterator."""
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise ConfigurationError(
            f"{owner} data must yield (x, y) pairs, one per batch; got "
            f"{type(item).__name__}. Yield `batch_x, batch_y` from the iterator."
        )
    batch_x, batch_y = item
    # One population: the item is its data; several: one entry per population, in order.
    x = ({inputs[0]: batch_x} if len(inputs) == 1 else dict(zip(inputs, batch_x, strict=True)))
    y = ({outputs[0]: batch_y} if len(outputs) == 1 else dict(zip(outputs, batch_y, strict=True)))
    return x, y


def evaluate_batches(compiled: Any, batches: Iterable[tuple[dict, dict]],
                     num_batches: int | None, metrics: Any, outputs: Sequence[Any],
                     callbacks: Any, owner: str) -> tuple[dict, dict]:
    """Score ``compiled`` on ``(x, y)`` dict pairs, one batch each; see the module doc."""
    compiled._check_loaded(owner.rsplit(".", 1)[-1])
    if compiled.parallel is not None:
        raise ConfigurationError(
            f"{owner} must run without a communicator; got a data-parallel network. Pass "
            f"each rank's data to evaluate(x, y), which scores every rank's examples."
        )
    network = compiled.network
    metric_objs = _data.make_metrics(metrics, list(outputs))
    cbl = CallbackList(callbacks, mode="test", compiled_network=compiled,
                       backend=compiled.backend, num_batches=num_batches, num_epochs=1,
                       num_examples=None)
    first = 0
    try:
        with cbl.guard():
            cbl.on_test_begin()
            for batch, (x, y) in enumerate(batches):
                prepared, num = _data.prepare_inputs(network, x)
                if num > compiled.batch_size:
                    raise ConfigurationError(
                        f"{owner} batches must hold at most batch_size={compiled.batch_size} "
                        f"examples; got {num} in batch {batch}. Yield smaller batches or "
                        f"compile with a larger batch_size."
                    )
                targets = _data.prepare_targets(network, y, num, metric_objs)
                local = np.arange(num, dtype=np.int64)
                compiled._check_batches(prepared, [local])
                compiled.start_batch(local, prepared)
                cbl.run.start_batch(local + first)
                cbl.on_batch_begin(batch)
                compiled.simulate(cbl)
                compiled.update_metrics(metric_objs, targets, local)
                cbl.on_batch_end(batch, metric_objs)
                first += num
            cbl.on_test_end(metric_objs)
    finally:
        cbl.close()
    return metric_objs, cbl.get_data()


def evaluate_batch_iter(compiled: Any, inputs: Any, outputs: Any, data: Any,
                        num_batches: int | None, metrics: Any,
                        callbacks: Any) -> tuple[dict, dict]:
    """The body of ``CompiledNetwork.evaluate_batch_iter`` (see its docstring)."""
    owner = f"{type(compiled).__name__}.evaluate_batch_iter"
    ins, outs = _as_tuple(inputs), _as_tuple(outputs)
    outs = tuple(_data.check_outputs(compiled.network, list(outs), "outputs"))
    pairs = (_batch_dicts(ins, outs, item, owner) for item in data)
    return evaluate_batches(compiled, pairs, num_batches, metrics, outs, callbacks, owner)


__all__ = ["evaluate_batch_iter", "evaluate_batches"]

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


class MlGeNNBatchCalls:
    """mlGeNN's methods of a compiled network that spikehooks' own loops do not use.

    Mixed into :class:`~spikehooks.compilers.CompiledNetwork` (it needs the
    network's ``backend``, ``network``, ``batch_size``, ``parallel`` and
    batch-loop pieces).
    """

    backend: Any
    network: Any
    _check_loaded: Any

    def reset_time(self) -> None:
        """mlGeNN's reset of the model's clock: the next step is timestep 0 again.

        Neuron state, synaptic input and spikes in flight are left as they
        are, as in mlGeNN; the recording window starts again too.
        """
        self._check_loaded("reset_time")
        self.backend.reset(reset_vars=False, reset_in_syn=False)

    def custom_update(self, name: str) -> None:
        """Refused: mlGeNN runs a GeNN custom update group by name; spikehooks has none."""
        raise ConfigurationError(
            f"{type(self).__name__}.custom_update (mlGeNN's GeNN custom update) is not "
            f"supported; got name {name!r}. spikehooks generates no GeNN code: edit state in a "
            f"Callback through compiled_net.neuron_populations[pop].vars[name].view."
        )

    def evaluate_batch_iter(self, inputs: Any, outputs: Any, data: Iterable[Any],
                            num_batches: int | None = None,
                            metrics: Any = "sparse_categorical_accuracy",
                            callbacks: Sequence[Any] = ("batch_progress_bar",)
                            ) -> tuple[dict, dict]:
        """Evaluate batches drawn from an iterator, as mlGeNN's method of this name.

        Parameters
        ----------
        inputs, outputs : Population or sequence of Population
        data : iterable of (x, y)
            One pair per batch of at most ``batch_size`` examples: ``x`` the
            input data (a sequence of them, in ``inputs``' order, for
            several inputs), ``y`` the targets likewise.
        num_batches : int, optional
            How many batches ``data`` yields (the progress bar's total).
        metrics, callbacks
            As for ``evaluate``.

        Returns
        -------
        metrics : dict
            Output population -> Metric, over every batch.
        cb_data : dict
            Each callback's key -> its data (examples counted across batches).
        """
        return evaluate_batch_iter(self, inputs, outputs, data, num_batches, metrics,
                                   callbacks)

    def evaluate_batch(self, x: dict, y: dict, metrics: Any = "sparse_categorical_accuracy",
                       callbacks: Sequence[Any] = ()) -> tuple[dict, dict]:
        """Evaluate one batch (at most ``batch_size`` examples), as mlGeNN's method.

        Unlike ``evaluate``, no callback runs by default (mlGeNN's default).
        """
        outputs = _data.check_targets_dict(self.network, y)
        return evaluate_batches(self, [(x, y)], 1, metrics, outputs, callbacks,
                                f"{type(self).__name__}.evaluate_batch")


__all__ = ["MlGeNNBatchCalls", "evaluate_batch_iter", "evaluate_batches"]

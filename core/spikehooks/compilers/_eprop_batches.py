"""How e-prop's compiled network starts its batches: mlGeNN's state carried between them.

mlGeNN's e-prop resets only the readout between training batches; spikehooks'
``evaluate``, ``predict`` and validation still start every batch from a full
reset and leave the training state as they found it (``docs/eprop.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._kernel_times import timed
from .compiled_network import _take
from .compiled_training_network import CompiledTrainingNetwork


class CarriedBatches(CompiledTrainingNetwork):
    """The batch starts of :class:`~spikehooks.compilers.compiled_eprop_network.
    CompiledEPropNetwork`: the training loop's, with e-prop's resets.

    Attributes
    ----------
    _inferring : bool
        True inside :meth:`infer_batches` (batches then start from a full reset).
    """

    _inferring = False
    _batch_indices: np.ndarray = np.zeros(0, np.int64)

    def _reset_backend(self) -> None:
        """mlGeNN's e-prop resets only the readout between training batches.

        ``evaluate``, ``predict`` and validation start each batch from a full
        reset, as an ``InferenceCompiler`` network does (:meth:`infer_batches`).
        """
        if self._inferring:
            super()._reset_backend()
            return
        self.backend.reset(reset_vars=False, reset_in_syn=False)
        self.backend.reset_readout_vars()

    def infer_batches(self, *args: Any, **kwargs: Any) -> Any:
        """As :meth:`CompiledNetwork.infer_batches`; training's carried state is kept aside.

        The batches of ``evaluate``, ``predict`` (through ``run_inference``)
        and of every validation pass of ``train`` run here.  Every inference
        batch starts from a full reset, and afterwards the backend holds again
        the state the last training batch left, so an ``evaluate`` (or a
        validation pass) between epochs changes no training result.
        """
        saved = self.backend.get_run_state()
        self._inferring = True
        try:
            return super().infer_batches(*args, **kwargs)
        finally:
            self._inferring = False
            self.backend.set_run_state(saved)

    def simulate(self, cbl: Any) -> None:
        if self._observing and not self.backend.num_examples_in_batch:
            # A data-parallel rank with no examples in this batch: its rows run on
            # without input, as padding rows do (their state reaches the next batch).
            with timed(self.kernel_times, "simulate"):
                self.backend.run(self.num_timesteps)
            return
        super().simulate(cbl)

    def _plan(self, order: np.ndarray, num_examples: int, shard: Any,
              owner: str) -> list[np.ndarray]:
        """As :meth:`CompiledNetwork._plan`, but data-parallel ``shard=True`` training gives
        rank ``r`` rows ``r * batch_size ...`` of every global batch.

        Those are the rows one process runs these examples on, so each example
        continues the carried state of the row it would continue in one process.
        """
        batches = super()._plan(order, num_examples, shard, owner)
        par = self.parallel
        if par is None or not shard or owner != "train":
            return batches
        size, start = self.batch_size * par.num_ranks, self.batch_size * par.rank
        return [order[i:i + size][start:start + self.batch_size]
                for i in range(0, len(order), size)]

    def start_batch(self, indices: np.ndarray, prepared: dict, run: Any = None,
                    index_offset: int = 0) -> None:
        self._batch_indices = np.asarray(indices)
        super().start_batch(indices, prepared, run, index_offset)
        if not len(indices) and not self._inferring:
            # An empty share still runs its rows (simulate): with no input at all.
            for pop, data in prepared.items():
                self.backend.set_input(pop, _take(data, self._batch_indices))


__all__ = ["CarriedBatches"]

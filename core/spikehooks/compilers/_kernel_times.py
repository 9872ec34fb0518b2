"""mlGeNN's kernel timings (``kernel_profiling=True``) on backends without GeNN.

GeNN times each of its kernels; these backends have no such kernels, so
with ``kernel_profiling=True`` the compiled network times its own phases
instead, in seconds, summed since it was compiled, and
``compiled_net.genn_model`` reports them under GeNN's names:

- ``neuron_update_time``: the simulation of the batches (neuron and synapse
  updates, which these backends run fused, step by step);
- ``presynaptic_update_time``: the EventProp backward pass (the adjoint
  sweep and the gradient sums), 0 for inference;
- ``get_custom_update_time(name)``: ``"GradientLearn"`` the optimiser
  steps (weights and learned delays), ``"Reset"`` resetting the state and
  loading the inputs before each batch, ``"BatchSoftmax1"`` the loss and its
  drive of the backward pass; ``"GradientBatchReduce"``, ``"BatchSoftmax2"``
  and ``"BatchSoftmax3"`` are 0 (their work is inside the phases above).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ConfigurationError

#: GeNN custom update names answered by ``get_custom_update_time``.
CUSTOM_UPDATES = ("GradientLearn", "Reset", "BatchSoftmax1", "GradientBatchReduce",
                  "BatchSoftmax2", "BatchSoftmax3")


class KernelTimes:
    """Seconds spent per phase, summed; a no-op unless ``enabled``.

    Attributes
    ----------
    seconds : dict of str to float
        Phase name (``"neuron"``, ``"presynaptic"`` or a custom update name) -> seconds.
    """

    def __init__(self, enabled: bool):
        self.enabled = bool(enabled)
        self.seconds: dict[str, float] = {}

    @contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        """Add the time spent inside the ``with`` block to ``phase``."""
        if not self.enabled:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start

    def get(self, phase: str) -> float:
        """Seconds of ``phase`` so far (0.0 if it never ran)."""
        return float(self.seconds.get(phase, 0.0))

    def custom_update_time(self, name: str) -> float:
        """mlGeNN's ``genn_model.get_custom_update_time(name)``."""
        if name not in CUSTOM_UPDATES:
            raise ConfigurationError(
                f"genn_model.get_custom_update_time name must be one of {list(CUSTOM_UPDATES)}; "
                f"got {name!r}. Other GeNN custom updates have no counterpart here."
            )
        return self.get(name)


__all__ = ["CUSTOM_UPDATES", "KernelTimes"]

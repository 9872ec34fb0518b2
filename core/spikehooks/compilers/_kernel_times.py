"""mlGeNN's kernel timings (``kernel_profiling=True``) on backends without GeNN kernels.

GeNN times each kernel; our backends fuse the neuron and synapse updates of
a step (and the compiled backend runs a whole batch in one call), so only
the phases below are timed, with ``time.perf_counter`` around each call:

=================================================  =======================================
``genn_model.`` name (mlGeNN)                      what is timed here (seconds, summed)
=================================================  =======================================
``neuron_update_time``                             every simulated step (neuron *and*
                                                   synapse updates, fused)
``get_custom_update_time("Reset")``                the reset between batches
``get_custom_update_time("GradientBatchReduce")``  EventProp's backward pass (per-example
                                                   gradients and their batch sum)
``get_custom_update_time("GradientLearn")``        the optimiser step
=================================================  =======================================

Every other timing (``presynaptic_update_time``, ``BatchSoftmax1`` ...) has
no separate phase here and reads ``nan``: its work is inside one of the above.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

#: mlGeNN custom-update names -> the phase that does their work here.
CUSTOM_UPDATES = {"Reset": "reset", "GradientBatchReduce": "backward",
                  "GradientLearn": "update"}


class KernelTimes:
    """Seconds spent in each phase since the network was compiled.

    Attributes
    ----------
    seconds : dict of str to float
        ``simulate``, ``reset``, ``backward``, ``update``.
    """

    def __init__(self) -> None:
        self.seconds = {"simulate": 0.0, "reset": 0.0, "backward": 0.0, "update": 0.0}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the wall-clock time of the ``with`` body to ``seconds[name]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def timing(self, name: str) -> float | None:
        """The value of ``genn_model.<name>``, or None when ``name`` is not a kernel timing."""
        if name == "neuron_update_time":
            return self.seconds["simulate"]
        if name.endswith("_time"):
            return float("nan")
        return None

    def custom_update_time(self, name: str) -> float:
        """``genn_model.get_custom_update_time(name)``: the phase's seconds, or nan."""
        phase = CUSTOM_UPDATES.get(name)
        return float("nan") if phase is None else self.seconds[phase]


class _Untimed:
    """The ``with`` of :func:`timed` when profiling is off: does nothing, allocates nothing."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_UNTIMED = _Untimed()


def timed(times: KernelTimes | None, name: str) -> AbstractContextManager[None]:
    """Time the body into ``times`` (nothing at all when profiling is off).

    Called several times per training batch: without profiling it returns a
    shared do-nothing context (a generator-based one cost microseconds per
    batch at batch size 1).
    """
    if times is None:
        return _UNTIMED
    return times.phase(name)


__all__ = ["CUSTOM_UPDATES", "KernelTimes", "timed"]

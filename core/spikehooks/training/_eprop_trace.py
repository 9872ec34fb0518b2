"""e-prop on the compiled backend: one batch's factors from the kernel's trace.

The compiled backend simulates a whole batch in one numba call and keeps
every step's spikes and the variables asked for (its trace).  Instead of
reading the backend after every step (:meth:`EPropRecorder.__call__`,
the NumPy backend's way), the recorder asks for ``V``, ``Isyn``,
``RefracTime`` and (adaptive neurons) ``A`` of the hidden populations and
``V`` of the output, and
after the batch fills the same arrays in compiled code
(:mod:`._eprop_kernels`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def trace_variables(layout: Any) -> list[tuple[Any, str]]:
    """The ``(population, variable)`` pairs e-prop needs traced."""
    names: list[tuple[Any, str]] = []
    for spec in layout.hidden:
        names += [(spec.population, "V"), (spec.population, "Isyn")]
        if spec.refractory:
            names.append((spec.population, "RefracTime"))
        if spec.adaptive:
            names.append((spec.population, "A"))
    names.append((layout.output, "V"))
    return names


def collect_trace(rec: Any) -> None:
    """Fill ``rec``'s per-step arrays (all batch rows) from its backend's trace.

    Parameters
    ----------
    rec : EPropRecorder
        After :meth:`~EPropRecorder.begin` and the batch's simulation.
    """
    from ..backends.compiled_backend._numba import register_twin, use_threads
    from . import _eprop_kernels as k

    backend, lay, real = rec.backend, rec.layout, rec.num_real
    alpha = lay.alpha
    for pop in lay.sources:
        rec._spikes[pop][...] = backend.traced_spikes(pop)
        k.filter_spikes(rec._spikes[pop], rec._zfilter[pop], alpha)
    hidden = k.hidden_factors_serial
    if rec.batch > 1 and use_threads(backend.num_threads):
        hidden = k.hidden_factors
        register_twin(k.hidden_factors, k.hidden_factors_serial)
    for spec in lay.hidden:
        pop = spec.population
        v = backend.traced_var(pop, "V")
        refrac = backend.traced_var(pop, "RefracTime") if spec.refractory else v
        adapt = backend.traced_var(pop, "A") if spec.adaptive else v
        hidden(v, backend.traced_var(pop, "Isyn"), refrac, rec._spikes[pop], rec._v_prev[pop],
               np.float32(alpha), float(spec.v_thresh), bool(spec.refractory),
               rec._favg_now[pop], float(rec.alpha_favg), rec._psi[pop], rec._favg_hist[pop],
               adapt, bool(spec.adaptive), float(spec.beta))
    rec._v_out[...] = backend.traced_var(lay.output, "V")
    if rec.categorical:
        k.softmax_errors(rec._v_out, np.asarray(rec.targets[:real], np.int64), real,
                         rec._softmax, rec._error, rec.softmax_sum)
    else:
        targets = np.swapaxes(np.asarray(rec.targets[:real]), 0, 1)
        rec._error[:, :real] = rec._v_out[:, :real] - targets.reshape(rec.num_steps, real, -1)


__all__ = ["collect_trace", "trace_variables"]

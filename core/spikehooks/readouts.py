"""Readouts: how an output population's activity becomes one value per neuron.

A readout adds an accumulator variable to the neuron model (mlGeNN's names):

==================  ==================  ==========================================
readout             variable            rule, per step
==================  ==================  ==========================================
``sum_var``         ``VSum``            ``VSum += V`` (after the V update)
``avg_var``         ``VAvg``            ``VAvg += float32(1 / T) * V``
``max_var``         ``VMax``            ``VMax = V if V > VMax``; starts at 0
``avg_var_exp_weight`` ``VAvg``         ``VAvg += exp(-t / (T dt)) / T * V``
``spike_count``     ``Scount``          ``+1`` at each spike
``first_spike_time``  ``TFirstSpike``   ``max(-t, TFirstSpike)`` at each spike
``var``             (``V`` itself)      none: ``V`` at the end of the example
==================  ==================  ==========================================

``T`` is the number of timesteps simulated per example and ``t`` the step's
time in ms; first spike times are negated so that argmax picks the earliest
neuron.  Accumulators are reset with the neuron state between examples.
"""

from __future__ import annotations

import numpy as np

from ._mlgenn_missing import module_getattr as _mlgenn_getattr


class Readout:
    """Base class of readouts.

    Attributes
    ----------
    var_name : str
        Backend name of the accumulator (``"VSum"``...).
    user_name : str
        User name of the accumulator (``"v_sum"``...).
    initial : float
        Value the accumulator is reset to.
    needs_spikes : bool
        True when the readout only makes sense on a spiking neuron.
    accumulates : bool
        Whether the readout adds an accumulator variable.
    """

    var_name: str = ""
    user_name: str = ""
    initial: float = 0.0
    needs_spikes: bool = False
    #: False for a readout of the output variable itself (no accumulator to add).
    accumulates: bool = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SumVar(Readout):
    """Sum of the membrane voltage ``V`` over the example's timesteps."""

    var_name = "VSum"
    user_name = "v_sum"


class AvgVar(Readout):
    """Mean of ``V`` over the example's timesteps (accumulated as ``V / T``)."""

    var_name = "VAvg"
    user_name = "v_avg"


class AvgVarExpWeight(Readout):
    """Mean of ``V`` weighted by ``exp(-t / (T dt))``: early steps count more.

    mlGeNN's loss-shaping readout for SHD (Nowotny, Turner & Knight, 2025):
    ``t`` is the step's start time in ms (``n dt`` for step ``n = 0 .. T - 1``),
    so the weight falls from 1 to ``exp(-(T - 1) / T)`` over the trial.
    """

    var_name = "VAvg"
    user_name = "v_avg"


class MaxVar(Readout):
    """Maximum of ``V`` over the example, floored at 0 (the accumulator starts at 0)."""

    var_name = "VMax"
    user_name = "v_max"


class SpikeCount(Readout):
    """Number of spikes each neuron emitted in the example (stored as float32)."""

    var_name = "Scount"
    user_name = "spike_count"
    needs_spikes = True


class FirstSpikeTime(Readout):
    """Minus the time in ms of each neuron's first spike (float32 min if it never spiked)."""

    var_name = "TFirstSpike"
    user_name = "t_first_spike"
    initial = float(np.finfo(np.float32).min)
    needs_spikes = True


class Var(Readout):
    """mlGeNN's ``var`` readout: the instantaneous ``V`` at the end of the example.

    No accumulator: the readout reads the model's output variable ``V``
    itself (after the last step's reset, for spiking models, as in GeNN).
    """

    var_name = "V"
    user_name = "v"
    accumulates = False


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = [
    "AvgVar",
    "AvgVarExpWeight",
    "FirstSpikeTime",
    "MaxVar",
    "Readout",
    "SpikeCount",
    "SumVar",
    "Var",
]

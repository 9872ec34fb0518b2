"""mlGeNN's other neuron models: binary and leaky input neurons, adaptive LIF.

Each follows the GeNN code mlGeNN generates for it, in float32; the update
rules are written out in ``docs/runtime.md`` and checked against a float64
re-simulation in the tests.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import ConfigurationError
from ..initializers import resolve_value
from ._base import InputNeuron, Neuron, check_count, check_param
from .integrate_fire import LeakyIntegrateFire


def _frames(neuron: Any, input_frames: Any, input_frame_timesteps: Any) -> None:
    name = type(neuron).__name__
    neuron.input_frames = check_count(input_frames, name, "input_frames")
    neuron.input_frame_timesteps = check_count(input_frame_timesteps, name,
                                               "input_frame_timesteps")


class BinarySpikeInput(InputNeuron):
    """Input neuron that spikes in every step its input is above 0.

    Per step: ``spike = Input > 0`` (``Input``: the example's value, or the
    current frame of time-varying input).

    Parameters
    ----------
    signed_spikes : bool
        mlGeNN's negative spikes for negative input; not supported here
        (must be False).
    input_frames, input_frame_timesteps : int
        Time-varying input, as for :class:`IntegrateFireInput`.
    """

    var_names: ClassVar[dict[str, str]] = {"input": "Input"}
    #: Input is copied frame by frame into ``Input`` (like IntegrateFireInput).
    frame_input: ClassVar[bool] = True

    def __init__(self, signed_spikes: bool = False, input_frames: int = 1,
                 input_frame_timesteps: int = 1):
        super().__init__()
        if signed_spikes:
            raise ConfigurationError(
                "BinarySpikeInput signed_spikes must be False; got True. spikehooks has no "
                "signed (negative) spikes; split positive and negative input into two "
                "BinarySpikeInput populations with weights of opposite sign."
            )
        self.signed_spikes = False
        _frames(self, input_frames, input_frame_timesteps)


class LeakyIntegrateFireInput(LeakyIntegrateFire, InputNeuron):
    """Leaky integrate-and-fire neuron driven by the input instead of synapses.

    :class:`LeakyIntegrateFire`'s rule with ``Isyn`` replaced by ``Input``:
    ``V = Alpha * V + Input`` (``(1 - Alpha) * Input`` with ``scale_i``),
    threshold, reset and refractory period as there.

    Parameters
    ----------
    v_thresh, v_reset, v, tau_mem, tau_refrac, relative_reset,
    integrate_during_refrac, scale_i
        As for :class:`LeakyIntegrateFire`.
    input_frames, input_frame_timesteps : int
        Time-varying input, as for :class:`IntegrateFireInput`.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V", "input": "Input"}
    frame_input: ClassVar[bool] = True

    def __init__(self, v_thresh: Any = 1.0, v_reset: Any = 0.0, v: Any = 0.0,
                 tau_mem: Any = 20.0, tau_refrac: Any = None, relative_reset: bool = True,
                 integrate_during_refrac: bool = True, scale_i: bool = False,
                 input_frames: int = 1, input_frame_timesteps: int = 1):
        super().__init__(v_thresh=v_thresh, v_reset=v_reset, v=v, tau_mem=tau_mem,
                         tau_refrac=tau_refrac, relative_reset=relative_reset,
                         integrate_during_refrac=integrate_during_refrac, scale_i=scale_i)
        _frames(self, input_frames, input_frame_timesteps)


class AdaptiveLeakyIntegrateFire(Neuron):
    """Leaky integrate-and-fire neuron with an adaptive threshold (Bellec et al. 2018).

    Per step, with ``Alpha = exp(-dt / tau_mem)`` and ``Rho = exp(-dt / tau_adapt)``::

        V = Alpha * V + Isyn        (skipped while refractory unless integrate_during_refrac)
        A = Rho * A
        RefracTime -= dt            (while RefracTime > 0; only with tau_refrac)
        spike if V >= Vthresh + Beta * A  (and RefracTime <= 0)
        on a spike: V -= Vthresh - Vreset (relative_reset) or V = Vreset;
                    A += 1; RefracTime = TauRefrac

    Parameters
    ----------
    v_thresh, v_reset : float, array or Initializer
        Base threshold and reset value.
    v, a : float, array or Initializer
        Initial ``V`` and adaptation ``A``.
    beta : float, array or Initializer
        Strength of adaptation (threshold rise per unit of ``A``).
    tau_mem, tau_adapt : float, array or Initializer
        Membrane and adaptation time constants in ms (> 0).
    tau_refrac : float, array, Initializer or None
        Refractory period in ms; None for none.
    relative_reset, integrate_during_refrac : bool
        As for :class:`LeakyIntegrateFire`.
    readout : str, Readout or None
        Readout of ``V`` when used as an output.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V", "a": "A"}
    initial_vars: ClassVar[dict[str, str]] = {"v": "V", "a": "A"}
    param_vars: ClassVar[dict[str, str]] = {
        "v_thresh": "Vthresh", "v_reset": "Vreset", "beta": "Beta", "tau_mem": "Alpha",
        "tau_refrac": "TauRefrac", "tau_adapt": "Rho"}

    def __init__(self, v_thresh: Any = 1.0, v_reset: Any = 0.0, v: Any = 0.0, a: Any = 0.0,
                 beta: Any = 0.0174, tau_mem: Any = 20.0, tau_refrac: Any = None,
                 tau_adapt: Any = 2000.0, relative_reset: bool = True,
                 integrate_during_refrac: bool = True, readout: Any = None):
        super().__init__(readout)
        name = "AdaptiveLeakyIntegrateFire"
        self.v_thresh = check_param(v_thresh, name, "v_thresh")
        self.v_reset = check_param(v_reset, name, "v_reset")
        self.v = resolve_value(v, f"{name} v")
        self.a = resolve_value(a, f"{name} a")
        self.beta = check_param(beta, name, "beta")
        self.tau_mem = check_param(tau_mem, name, "tau_mem", positive=True)
        self.tau_refrac = None if tau_refrac is None else check_param(
            tau_refrac, name, "tau_refrac", non_negative=True)
        self.tau_adapt = check_param(tau_adapt, name, "tau_adapt", positive=True)
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)

    def get_var_names(self) -> dict[str, str]:
        names = super().get_var_names()
        if self.tau_refrac is not None:
            names["refrac_time"] = "RefracTime"
        return names


__all__ = ["AdaptiveLeakyIntegrateFire", "BinarySpikeInput", "LeakyIntegrateFireInput"]

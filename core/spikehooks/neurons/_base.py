"""Base classes of neuron models and the checks their parameters share."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._default_params import NetworkDefaults
from ..checks import int_at_least, positive_real, real
from ..errors import ConfigurationError
from ..initializers import Initializer, materialise, resolve_value
from ..plugins import registry
from ..readouts import Readout


def check_number(value: Any, owner: str, name: str, *, positive: bool = False,
                 non_negative: bool = False) -> float:
    """Return ``value`` as a float, or raise :class:`ConfigurationError`."""
    fix = f"Pass a float, e.g. {name}=1.0."
    if positive or non_negative:
        return positive_real(value, owner, name, fix, allow_zero=not positive)
    return real(value, owner, name, "a finite number", fix)


def check_param(value: Any, owner: str, name: str, *, positive: bool = False,
                non_negative: bool = False) -> Any:
    """Return a parameter mlGeNN accepts per neuron: a float, an array or an Initializer.

    A number is checked as by :func:`check_number`.  An array (any shape
    holding one value per neuron) or an initializer makes the parameter a
    per-neuron state variable, as GeNN does; an array's values are checked
    against the same bounds here, its size when the network is built.
    """
    is_array = isinstance(value, (np.ndarray, list)) or (
        isinstance(value, tuple) and not (len(value) == 2 and isinstance(value[0], str)))
    if not (is_array or isinstance(value, Initializer)):
        return check_number(value, owner, name, positive=positive, non_negative=non_negative)
    resolved = resolve_value(value, f"{owner} {name}")
    if isinstance(resolved, float):
        return check_number(resolved, owner, name, positive=positive, non_negative=non_negative)
    if isinstance(resolved, np.ndarray) and ((positive and np.any(resolved <= 0))
                                            or (non_negative and np.any(resolved < 0))):
        bound = "> 0" if positive else ">= 0"
        raise ConfigurationError(
            f"{owner} {name} must be {bound} for every neuron; got an array with min "
            f"{resolved.min()!r}. Fix the values, e.g. with numpy.clip."
        )
    return resolved


def check_count(value: Any, owner: str, name: str) -> int:
    """Return ``value`` as an int >= 1, or raise :class:`ConfigurationError`."""
    return int_at_least(value, owner, name, f"Pass e.g. {name}=1.")


class Neuron(NetworkDefaults):
    """Base class of neuron models.

    Class attributes
    ----------------
    var_names : dict of str to str
        State variables, user name to backend (GeNN-style) name.
    spiking : bool
        Whether the model emits spikes (and can feed connections).
    is_input : bool
        Whether the model is driven by data given to ``evaluate``/``train``.

    Attributes
    ----------
    readout : Readout or None
        The readout attached to the model's output variable ``V``.

    A model constructed inside ``with network:`` takes the network's
    ``default_params`` for the arguments the caller did not pass.
    """

    var_names: ClassVar[dict[str, str]] = {}
    spiking: ClassVar[bool] = True
    is_input: ClassVar[bool] = False
    #: Parameters that may be given per neuron: user name -> GeNN variable name.
    param_vars: ClassVar[dict[str, str]] = {}
    #: Variables whose initial values are constructor arguments: user name -> backend name.
    initial_vars: ClassVar[dict[str, str]] = {"v": "V"}

    def __init__(self, readout: Any = None):
        self.readout: Readout | None = (
            None if readout is None else registry.create("readouts", readout, expected=Readout)
        )
        if self.readout is not None and not isinstance(self.readout, Readout):
            raise ConfigurationError(
                f"{type(self).__name__} readout must be a Readout object or a name such as "
                f"'sum_var'; got {self.readout!r}. Pass readout='sum_var' or SumVar()."
            )
        if self.readout is not None and self.readout.needs_spikes and not self.spiking:
            raise ConfigurationError(
                f"{type(self).__name__} readout must suit a non-spiking model; got "
                f"{type(self.readout).__name__}, which counts spikes. Use 'sum_var', 'avg_var' "
                f"or 'max_var'."
            )
        if self.readout is not None and "V" not in self.var_names.values():
            raise ConfigurationError(
                f"{type(self).__name__} readout must be None; got "
                f"{type(self.readout).__name__}, but the model has no output variable V."
            )

    def get_var_names(self) -> dict[str, str]:
        """Return every recordable variable, the readout's accumulator and per-neuron
        parameters (``"v_thresh"`` -> ``"Vthresh"``, as in GeNN) included."""
        names = dict(self.var_names)
        if self.readout is not None and self.readout.accumulates:
            names[self.readout.user_name] = self.readout.var_name
        names.update(self.heterogeneous())
        return names

    def heterogeneous(self) -> dict[str, str]:
        """Return the parameters given per neuron: user name -> GeNN variable name."""
        return {user: genn for user, genn in self.param_vars.items()
                if isinstance(getattr(self, user, None), (np.ndarray, Initializer))}

    def param_values(self, user: str, num_neurons: int, rng: np.random.Generator,
                     dt: float) -> np.ndarray:
        """Return per-neuron parameter ``user`` as its GeNN variable holds it.

        Returns
        -------
        numpy.ndarray of float32, shape (num_neurons,)
            Time constants become GeNN's decay factors (``tau_mem``:
            ``Alpha = exp(-dt / tau_mem)``, ``tau_adapt``: ``Rho``), computed
            in float64 and stored as float32; others are the values.
        """
        value = getattr(self, user)
        if isinstance(value, np.ndarray) and value.size != num_neurons:
            raise ConfigurationError(
                f"{type(self).__name__} {user} must hold one value per neuron ({num_neurons}); "
                f"got an array of shape {value.shape}. Pass an array of the population's size."
            )
        if isinstance(value, np.ndarray):
            values = value.reshape(num_neurons).astype(np.float64)
        else:
            values = materialise(value, (num_neurons,), rng).astype(np.float64)
        if self.param_vars.get(user) in ("Alpha", "Rho"):  # time constants, as GeNN holds them
            if np.any(values <= 0):
                raise ConfigurationError(
                    f"{type(self).__name__} {user} must be > 0 for every neuron; got min "
                    f"{values.min()!r} from its initializer. Use an initializer with positive "
                    f"values."
                )
            values = np.exp(-dt / values)
        return values.astype(np.float32)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_")
        )
        return f"{type(self).__name__}({shown})"


class InputNeuron(Neuron):
    """Base class of models driven by data.

    Attributes
    ----------
    input_frames : int
        Frames per example (time-varying input); 1 for static input.
    input_frame_timesteps : int
        Timesteps each frame is shown for.
    """

    is_input: ClassVar[bool] = True
    input_frames: int = 1
    input_frame_timesteps: int = 1

    def example_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one example's input for a population of ``shape``."""
        return shape if self.input_frames == 1 else (self.input_frames, *shape)

    def prepare_input(self, x: Any, population: Any) -> Any:
        """Validate a whole data set of input for ``population`` and normalise it.

        Returns
        -------
        numpy.ndarray of float32, shape (n_examples, input_frames, num_neurons)
            For rate-like inputs; spike-time inputs return their own format.
        """
        owner = f"input of population {population.name!r}"
        expected = self.example_shape(population.shape)
        try:
            raw = np.asarray(x)
            if raw.dtype.kind not in "biuf":  # complex, strings, objects: nothing to cast safely
                raise TypeError(f"dtype {raw.dtype}")
            arr = raw.astype(np.float32, copy=False)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{owner} must be a real-valued (bool, int or float) array of shape "
                f"(n_examples, {', '.join(map(str, expected))}); got {type(x).__name__} "
                f"({exc}). Convert it with numpy.asarray(..., dtype=numpy.float32), taking "
                f"the real part or the magnitude of complex data yourself."
            ) from exc
        if arr.ndim == 0 or arr.shape[1:] != expected:
            raise ConfigurationError(
                f"{owner} must have shape (n_examples, {', '.join(map(str, expected))}); got "
                f"{arr.shape}. Reshape the data to one row per example matching the "
                f"population's shape {population.shape}."
            )
        if not np.all(np.isfinite(arr)):
            bad = int(np.argmax(~np.isfinite(arr).reshape(len(arr), -1).all(axis=1)))
            raise ConfigurationError(
                f"{owner} must be finite; got NaN or inf (first in example {bad}). Clean or "
                f"clip the data before evaluating."
            )
        return arr.reshape(len(arr), self.input_frames, population.num_neurons)

    @staticmethod
    def num_examples(prepared: Any) -> int:
        """Number of examples in what :meth:`prepare_input` returned."""
        return len(prepared)


__all__ = ["InputNeuron", "Neuron", "check_count", "check_number", "check_param"]

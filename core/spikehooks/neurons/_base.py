"""Base classes of neuron models and the checks their parameters share."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._default_params import NetworkDefaults
from ..checks import int_at_least, positive_real, real
from ..errors import ConfigurationError
from ..plugins import registry
from ..readouts import Readout


def check_number(value: Any, owner: str, name: str, *, positive: bool = False,
                 non_negative: bool = False) -> float:
    """Return ``value`` as a float, or raise :class:`ConfigurationError`."""
    fix = f"Pass a float, e.g. {name}=1.0."
    if positive or non_negative:
        return positive_real(value, owner, name, fix, allow_zero=not positive)
    return real(value, owner, name, "a finite number", fix)


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
        """Return every recordable variable, the readout's accumulator included."""
        names = dict(self.var_names)
        if self.readout is not None:
            names[self.readout.user_name] = self.readout.var_name
        return names

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
            arr = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{owner} must be a numeric array of shape (n_examples, "
                f"{', '.join(map(str, expected))}); got {type(x).__name__}. Convert it with "
                f"numpy.asarray."
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


__all__ = ["InputNeuron", "Neuron", "check_count", "check_number"]

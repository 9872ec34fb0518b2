"""Gradient-descent optimisers for training.

An optimiser updates float32 weight arrays in place from float64 gradients.
Hyperparameters are plain attributes (listed in ``param_names``) that a
callback may change between batches, e.g. ``optimiser.alpha = 1e-4``.
``state_dict()``/``load_state_dict()`` capture everything needed to resume
bit for bit: hyperparameters, the step counter and the moment arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .checks import positive_real
from .errors import ConfigurationError


class Optimiser:
    """Base class of the optimisers.

    Attributes
    ----------
    param_names : tuple of str
        Names of the hyperparameters, each a plain float attribute.
    step : int
        Number of updates applied so far.
    """

    param_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.step = 0
        self._slots: dict[str, dict[str, np.ndarray]] = {}

    def update(
        self, weights: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray]
    ) -> None:
        """Apply one update to every array of ``weights`` in place.

        Parameters
        ----------
        weights : mapping of str to numpy.ndarray of float32
            Learnable arrays, updated in place.
        gradients : mapping of str to numpy.ndarray of float64
            ``+dL/dw`` for each key of ``weights``, same shapes.
        """
        for key, weight in weights.items():
            self._update_one(key, weight, np.asarray(gradients[key], dtype=np.float64))
        self.step += 1

    def _update_one(self, key: str, weight: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    def _slot(self, name: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
        slot = self._slots.setdefault(name, {})
        if key not in slot:
            slot[key] = np.zeros(shape, dtype=np.float64)
        return slot[key]

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Return hyperparameters, step and moment arrays (copies)."""
        return {
            "params": {name: float(getattr(self, name)) for name in self.param_names},
            "step": int(self.step),
            "slots": {
                name: {key: array.copy() for key, array in arrays.items()}
                for name, arrays in self._slots.items()
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        Raises
        ------
        ConfigurationError
            A key is missing or a hyperparameter is unknown.
        """
        try:
            params, step, slots = state["params"], state["step"], state["slots"]
        except KeyError as exc:
            raise ConfigurationError(
                f"{type(self).__name__} state must have keys 'params', 'step' and 'slots'; "
                f"missing {exc}. Pass what state_dict() returned."
            ) from None
        unknown = set(params) - set(self.param_names)
        if unknown:
            raise ConfigurationError(
                f"{type(self).__name__} state params must be among {list(self.param_names)}; "
                f"got {sorted(unknown)}. Load a state saved from the same optimiser class."
            )
        for name, value in params.items():
            setattr(self, name, float(value))
        self.step = int(step)
        self._slots = {
            name: {key: np.array(array, dtype=np.float64) for key, array in arrays.items()}
            for name, arrays in slots.items()
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.param_names)
        return f"{type(self).__name__}({args})"


def check_positive(value: Any, owner: str, name: str, example: str) -> None:
    """Refuse a non-number, NaN, inf or a value <= 0 (a negative rate ascends the loss)."""
    positive_real(value, owner, name, f"Pass {example}.")


class Adam(Optimiser):
    """Adam (Kingma & Ba), with mlGeNN's defaults and bias correction.

    ``M <- b1 M + (1-b1) G``, ``V <- b2 V + (1-b2) G^2``,
    ``W <- W - alpha * (M c1) / (sqrt(V c2) + epsilon)`` with
    ``c_i = 1 / (1 - b_i^(step + 1))`` and ``step`` counting from 0.

    Parameters
    ----------
    alpha : float
        Learning rate.
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to the denominator.
    """

    param_names = ("alpha", "beta1", "beta2", "epsilon")

    def __init__(
        self, alpha: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8
    ):
        super().__init__()
        check_positive(alpha, "Adam", "alpha", "e.g. alpha=1e-3")
        check_positive(epsilon, "Adam", "epsilon", "e.g. epsilon=1e-8")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ConfigurationError(
                    f"Adam {name} must be in [0, 1); got {value!r}. Typical: 0.9 / 0.999."
                )
        self.alpha = float(alpha)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.epsilon = float(epsilon)

    def _update_one(self, key: str, weight: np.ndarray, grad: np.ndarray) -> None:
        m = self._slot("m", key, weight.shape)
        v = self._slot("v", key, weight.shape)
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * grad * grad
        c1 = 1.0 / (1.0 - self.beta1 ** (self.step + 1))
        c2 = 1.0 / (1.0 - self.beta2 ** (self.step + 1))
        weight -= (self.alpha * m * c1 / (np.sqrt(v * c2) + self.epsilon)).astype(weight.dtype)


class SGD(Optimiser):
    """Stochastic gradient descent with optional (heavy-ball) momentum.

    ``U <- momentum U + G``, ``W <- W - alpha U``.

    Parameters
    ----------
    alpha : float
        Learning rate.
    momentum : float
        Momentum factor in [0, 1); 0 is plain SGD.
    """

    param_names = ("alpha", "momentum")

    def __init__(self, alpha: float, momentum: float = 0.0):
        super().__init__()
        check_positive(alpha, "SGD", "alpha", "e.g. alpha=0.01")
        if not 0.0 <= momentum < 1.0:
            raise ConfigurationError(
                f"SGD momentum must be in [0, 1); got {momentum!r}. Pass e.g. momentum=0.9, "
                f"or 0 for plain SGD."
            )
        self.alpha = float(alpha)
        self.momentum = float(momentum)

    def _update_one(self, key: str, weight: np.ndarray, grad: np.ndarray) -> None:
        if self.momentum:
            velocity = self._slot("velocity", key, weight.shape)
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        weight -= (self.alpha * grad).astype(weight.dtype)


__all__ = ["SGD", "Adam", "Optimiser"]

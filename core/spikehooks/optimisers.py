"""Gradient-descent optimisers for training.

An optimiser updates float32 weight arrays in place from float64 gradients.
Hyperparameters are plain attributes (listed in ``param_names``) that a
callback may change between batches, e.g. ``optimiser.alpha = 1e-4``.  Every
assignment is checked, wherever it comes from (the constructor, a schedule,
a user callback, ``load_state_dict``): a NaN, infinite or negative learning
rate is refused with a :class:`~spikehooks.errors.ConfigurationError`.
``state_dict()``/``load_state_dict()`` capture everything needed to resume
bit for bit: hyperparameters, the step counter and the moment arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._mlgenn_missing import module_getattr as _mlgenn_getattr
from .checks import positive_real, real
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
    #: Names of the per-weight moment arrays the optimiser keeps.
    slot_names: tuple[str, ...] = ()
    #: Per hyperparameter: a check raising ConfigurationError for a bad value.
    _param_checks: dict[str, Any] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        check = self._param_checks.get(name)
        if check is not None:
            check(value, type(self).__name__)
            value = float(value)
        object.__setattr__(self, name, value)

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

    def reset_slots(self, key: str, where: np.ndarray) -> None:
        """Zero every moment of ``key`` at ``where`` (bool, the weight's shape).

        Used when a synapse appears or disappears (Deep R): it restarts with
        fresh moments, as GeNN zeroes a new synapse's variables.
        """
        for arrays in self._slots.values():
            if key in arrays:
                arrays[key][where] = 0.0

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
            The state does not fit this optimiser (see :meth:`check_state_dict`);
            nothing was changed.
        """
        self.check_state_dict(state)
        params, step, slots = state["params"], state["step"], state["slots"]
        for name, value in params.items():
            setattr(self, name, value)  # checked like any other assignment
        self.step = int(step)
        self._slots = {
            name: {key: np.array(array, dtype=np.float64) for key, array in arrays.items()}
            for name, arrays in slots.items()
        }

    def check_state_dict(self, state: Mapping[str, Any],
                         shapes: Mapping[str, tuple[int, ...]] | None = None) -> None:
        """Refuse a state this optimiser cannot load, changing nothing.

        Parameters
        ----------
        state : mapping
            What :meth:`state_dict` returned.
        shapes : mapping of str to tuple of int, optional
            Shape of every weight array; moment arrays must match them.

        Raises
        ------
        ConfigurationError
            A key is missing, the hyperparameters or moment arrays are those
            of another optimiser class, or a moment array has another shape.
        """
        owner = type(self).__name__
        try:
            params, slots = state["params"], state["slots"]
            int(state["step"])
            other = set(params) ^ set(self.param_names)
            foreign = set(slots) - set(self.slot_names)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{owner} state must have keys 'params', 'step' and 'slots' as state_dict() "
                f"returns them; got {type(exc).__name__}: {exc}. Pass what state_dict() returned."
            ) from None
        if other or foreign:
            raise ConfigurationError(
                f"{owner} state must hold the hyperparameters {list(self.param_names)} and "
                f"moments {list(self.slot_names)}; got {sorted(params)} and {sorted(slots)}. "
                f"Load a state saved with the same optimiser class."
            )
        for name, arrays in slots.items():
            for key, array in arrays.items():
                want = None if shapes is None else shapes.get(key)
                got = tuple(np.shape(array))
                if shapes is not None and want != got:
                    raise ConfigurationError(
                        f"{owner} state moment {name!r} of {key!r} must have the shape of its "
                        f"weights, {want}; got {got}. Load a state saved from a network of the "
                        f"same sizes."
                    )

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.param_names)
        return f"{type(self).__name__}({args})"


def check_positive(value: Any, owner: str, name: str, example: str) -> None:
    """Refuse a non-number, NaN, inf or a value <= 0 (a negative rate ascends the loss)."""
    positive_real(value, owner, name, f"Pass {example}.")


def _positive(name: str, example: str) -> Any:
    def check(value: Any, owner: str) -> None:
        check_positive(value, owner, name, example)

    return check


def _rate(example: str) -> Any:
    """A learning rate set after construction may be 0 (frozen; a schedule's floor)."""
    def check(value: Any, owner: str) -> None:
        real(value, owner, "alpha", "a finite number >= 0",
             f"Pass {example} (a negative rate ascends the loss, NaN or inf destroys the "
             f"weights).", lambda v: v >= 0)

    return check


def _unit_interval(name: str, fix: str) -> Any:
    def check(value: Any, owner: str) -> None:
        real(value, owner, name, "in [0, 1)", fix, lambda v: 0.0 <= v < 1.0)

    return check


#: The compiled Adam step of :meth:`Adam.update_compiled` (None until its first call).
_adam_step: Any = None


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
    slot_names = ("m", "v")
    _param_checks = {
        "alpha": _rate("e.g. alpha=1e-3"),
        "beta1": _unit_interval("beta1", "Typical: 0.9 / 0.999."),
        "beta2": _unit_interval("beta2", "Typical: 0.9 / 0.999."),
        "epsilon": _positive("epsilon", "e.g. epsilon=1e-8"),
    }

    def __init__(
        self, alpha: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8
    ):
        super().__init__()
        check_positive(alpha, "Adam", "alpha", "e.g. alpha=1e-3")
        # Each assignment is checked (and stored as a float) by __setattr__.
        self.alpha = alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

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

    def update_compiled(
        self, weights: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray]
    ) -> None:
        """:meth:`update`, bit for bit, with one compiled (numba) call per array.

        The training loop of the compiled backend calls it: the NumPy update
        allocates a temporary per operation, which at batch size 1 costs more
        than the update's arithmetic.  Arrays the kernel cannot update in
        place (not C-contiguous, not float32 weights) take the NumPy update.
        Needs numba.
        """
        global _adam_step
        if _adam_step is None:  # imported on the first call (numba is optional)
            from .training._update_kernels import adam_step as _adam_step
        adam_step = _adam_step
        beta1, beta2, alpha, epsilon = self.beta1, self.beta2, self.alpha, self.epsilon
        # The scalars exactly as _update_one computes them (Python floats, float64).
        c1 = 1.0 / (1.0 - beta1 ** (self.step + 1))
        c2 = 1.0 / (1.0 - beta2 ** (self.step + 1))
        flat = self.__dict__.setdefault("_flat_views", {})
        for key, weight in weights.items():
            grad = np.asarray(gradients[key], dtype=np.float64)
            m = self._slot("m", key, weight.shape)
            v = self._slot("v", key, weight.shape)
            # The flat views of the same weight and moment arrays as the last step (the
            # arrays of a training run): checked and made once, not every batch.
            views = flat.get(key)
            if views is None or views[0] is not weight or views[1] is not m or views[2] is not v:
                fits = (weight.dtype == np.float32 and weight.flags.c_contiguous
                        and m.flags.c_contiguous and v.flags.c_contiguous)
                views = flat[key] = (weight, m, v, fits and (
                    weight.reshape(-1), m.reshape(-1), v.reshape(-1)))
            if not views[3] or grad.shape != weight.shape or not grad.flags.c_contiguous:
                with np.errstate(over="ignore", invalid="ignore"):  # (as update's callers)
                    self._update_one(key, weight, grad)
                continue
            w_flat, m_flat, v_flat = views[3]
            adam_step(w_flat, grad.reshape(-1), m_flat, v_flat,
                      beta1, 1.0 - beta1, beta2, 1.0 - beta2, alpha, c1, c2, epsilon)
        self.step += 1


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
    slot_names = ("velocity",)
    _param_checks = {
        "alpha": _rate("e.g. alpha=0.01"),
        "momentum": _unit_interval("momentum", "Pass e.g. momentum=0.9, or 0 for plain SGD."),
    }

    def __init__(self, alpha: float, momentum: float = 0.0):
        super().__init__()
        check_positive(alpha, "SGD", "alpha", "e.g. alpha=0.01")
        self.alpha = alpha
        self.momentum = momentum

    def _update_one(self, key: str, weight: np.ndarray, grad: np.ndarray) -> None:
        if self.momentum:
            velocity = self._slot("velocity", key, weight.shape)
            velocity *= self.momentum
            velocity += grad
            grad = velocity
        weight -= (self.alpha * grad).astype(weight.dtype)


# mlGeNN names not offered are refused with what to use instead.
__getattr__ = _mlgenn_getattr(__name__)


__all__ = ["SGD", "Adam", "Optimiser"]

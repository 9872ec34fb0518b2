"""Convert a ReLU ANN given as numpy weights to a few-spike network.

The ANN is a list of layers, each a connectivity with its (numpy) weights and
the activation after it, e.g.::

    [(Dense(w1), "relu"), (Dense(w2), "linear")]

Hidden layers must be ReLU; the last layer is read out linearly (its
pre-activation, mlGeNN's ``"var"`` readout).  Any connectivity works
(``Dense``, ``Conv2D``, ``AvgPool2D``...), with no bias (few-spike neurons
have none).  Each layer's ``alpha`` (the largest activation it codes) is
set from ``norm_data`` as a high percentile of its ANN activations, so
activations are clipped rarely.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..connectivity import OneToOne, TiedConnectivity
from ..errors import ConfigurationError
from ..network import InputLayer, Layer, SequentialNetwork
from ..neurons import FewSpikeRelu, FewSpikeReluInput

#: Activations a layer may name: ReLU for hidden layers, identity for the output.
Relu = "relu"
_LINEAR = ("linear", None)


class FewSpike:
    """Few-spike converter (Stoeckl & Maass 2021) for numpy ANNs.

    Parameters
    ----------
    k : int
        Timesteps (binary digits) per activation.
    signed_input : bool
        Code negative inputs too.
    norm_data : numpy.ndarray, shape (n, *input_shape), optional
        Examples the layers' ``alpha`` is fitted on; without it every alpha is
        ``alpha`` below.
    percentile : float
        Percentile of each layer's activations taken as its alpha.
    alpha : float
        Alpha of every layer without ``norm_data``.
    """

    def __init__(self, k: int = 10, signed_input: bool = False, norm_data: Any = None,
                 percentile: float = 99.99, alpha: float = 25.0):
        self.k = int(k)
        self.signed_input = bool(signed_input)
        self.norm_data = None if norm_data is None else np.asarray(norm_data, np.float64)
        self.percentile = float(percentile)
        self.alpha = float(alpha)

    def convert(self, layers: list, input_shape: Any) -> tuple[Any, Any, Any]:
        """Build the few-spike network; returns ``(network, input layer, output layer)``.

        Raises
        ------
        ConfigurationError
            A hidden layer is not ReLU, or the output layer is not linear.
        """
        for index, (_, activation) in enumerate(layers):
            last = index == len(layers) - 1
            if not last and activation != Relu:
                raise ConfigurationError(
                    f"FewSpike layer {index} activation must be 'relu' for few-spike "
                    f"conversion; got {activation!r}. Few-spike neurons code ReLU "
                    f"activations only: retrain the ANN with ReLU hidden layers.")
            if last and activation not in _LINEAR:
                raise ConfigurationError(
                    f"FewSpike output layer {index} activation must be 'linear' (read out "
                    f"before any activation); got {activation!r}. Drop the output "
                    f"activation: argmax of logits equals argmax of softmax.")
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        alphas = self._alphas(layers, shape)
        network = SequentialNetwork()
        with network:
            inp = InputLayer(FewSpikeReluInput(self.k, alphas[0], self.signed_input), shape)
            out: Any = inp
            for index, (connectivity, _) in enumerate(layers):
                last = index == len(layers) - 1
                neuron = FewSpikeRelu(self.k, alphas[index + 1], readout="var" if last else None)
                size = None if isinstance(connectivity, TiedConnectivity) else \
                    _dense_size(connectivity)
                out = Layer(connectivity, neuron, size, synapse="delta")
        return network, inp, out

    def _alphas(self, layers: list, shape: tuple[int, ...]) -> list[float]:
        if self.norm_data is None:
            return [self.alpha] * (len(layers) + 1)
        activ = self.norm_data.reshape(len(self.norm_data), -1)
        alphas = [_top(np.abs(activ) if self.signed_input else activ, self.percentile)]
        for connectivity, activation in layers:
            weight = _dense_weight(connectivity, shape)
            activ = activ @ weight
            if activation == Relu:
                activ = np.maximum(activ, 0.0)
            alphas.append(_top(np.abs(activ), self.percentile))
            shape = getattr(connectivity, "output_shape", (weight.shape[1],))
        return alphas


def _top(values: np.ndarray, percentile: float) -> float:
    top = float(np.percentile(values, percentile))
    return top if top > 0 else 1.0


def _dense_size(connectivity: Any) -> int:
    weight = connectivity.weight
    if isinstance(connectivity, OneToOne) or not isinstance(weight, np.ndarray) or \
            weight.ndim != 2:
        raise ConfigurationError(
            f"FewSpike layer weights must be numpy arrays; got {type(connectivity).__name__} "
            f"with {type(weight).__name__}. Pass the trained (n_in, n_out) array.")
    return int(weight.shape[1])


def _dense_weight(connectivity: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The layer as an ``(n_in, n_out)`` float64 matrix, to compute activations."""
    if isinstance(connectivity, TiedConnectivity):
        connectivity.bind(shape, "FewSpike")
        rng = np.random.default_rng(0)
        return connectivity.expand(connectivity.make_kernel(rng)).astype(np.float64)
    weight = np.asarray(connectivity.weight, np.float64)
    if weight.shape[0] != math.prod(shape):
        raise ConfigurationError(
            f"FewSpike layer weight must have {math.prod(shape)} rows for input shape "
            f"{shape}; got {weight.shape}. Pass the layers in order.")
    return weight


__all__ = ["FewSpike", "Relu"]

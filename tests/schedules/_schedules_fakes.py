"""Small stand-ins for a compiled training network, driven through a real CallbackList."""

from __future__ import annotations

import numpy as np

from spikehooks import CallbackList
from spikehooks.metrics import MeanSquareError, SparseCategoricalAccuracy


class FakeOptimiser:
    param_names = ("alpha", "beta1")

    def __init__(self, alpha: float = 0.1):
        self.alpha = alpha
        self.beta1 = 0.9


class FakeBackend:
    def __init__(self):
        self.weights = {"c/weight": np.zeros(3, np.float32)}

    def get_learnable_state(self):
        return {k: v.copy() for k, v in self.weights.items()}

    def set_learnable_state(self, state):
        self.weights = {k: np.array(v) for k, v in state.items()}


class Pop:
    def __init__(self, name: str):
        self.name = name


class FakeNetwork:
    def __init__(self, num_optimisers: int = 1, alpha: float = 0.1):
        self.optimisers = [FakeOptimiser(alpha) for _ in range(num_optimisers)]
        self.backend = FakeBackend()
        self.stop_training = False
        self.validation_metrics = None


def accuracy(value: float) -> SparseCategoricalAccuracy:
    metric = SparseCategoricalAccuracy()
    metric.correct, metric.total = round(value * 1000), 1000
    return metric


def mse(value: float) -> MeanSquareError:
    metric = MeanSquareError()
    metric.sum_squared_error, metric.total = value * 4, 4
    return metric


def callback_list(callbacks, network, num_batches: int = 4) -> CallbackList:
    return CallbackList(callbacks, mode="train", compiled_network=network,
                        backend=network.backend, num_batches=num_batches, num_epochs=10,
                        global_plugins=False)


OUT = Pop("out")

"""A fake compiled training network whose train() follows spikehooks' training contract.

The contract the Checkpoint relies on: ``state_dict()`` returns
``{"learnable", "optimisers", "rng", "epoch"}`` with ``epoch`` the next epoch
to train; the data is shuffled with the network's RNG before
``on_epoch_begin``; validation runs before the training callbacks'
``on_epoch_end`` and leaves its metrics in ``run.validation_metrics``;
``resume_from`` reaches ``set_params`` and then calls ``restore`` on the
callback offering it, and training continues from the epoch it returns; the
callback list is closed when the run ends (releasing the folders claimed).
"""

from __future__ import annotations

import numpy as np

from spikehooks import Callback, CallbackList
from spikehooks.metrics import SparseCategoricalAccuracy


class Pop:
    def __init__(self, name: str):
        self.name = name


OUT = Pop("out")


class FakeOptimiser:
    param_names = ("alpha",)

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.step = 0
        self.m = np.zeros(6)

    def update(self, weight: np.ndarray, grad: np.ndarray) -> None:
        self.m = 0.9 * self.m + 0.1 * grad
        weight -= (self.alpha * self.m).astype(np.float32)
        self.step += 1

    def state_dict(self):
        return {"params": {"alpha": self.alpha}, "step": self.step, "slots": {"m": self.m.copy()}}

    def load_state_dict(self, state):
        self.alpha = float(state["params"]["alpha"])
        self.step = int(state["step"])
        self.m = np.array(state["slots"]["m"])


class FakeBackend:
    def __init__(self):
        self.weights = {"c/weight": np.linspace(-1, 1, 6).astype(np.float32)}

    def get_learnable_state(self):
        return {k: v.copy() for k, v in self.weights.items()}

    def set_learnable_state(self, state):
        self.weights = {k: np.array(v, dtype=np.float32) for k, v in state.items()}


class FakeTrainingNetwork:
    def __init__(self, seed: int = 0, alpha: float = 0.05):
        self.backend = FakeBackend()
        self.optimisers = [FakeOptimiser(alpha)]
        self.rng = np.random.default_rng(seed)
        self.stop_training = False
        self.validation_metrics = None
        self._next_epoch = 0

    def state_dict(self):
        return {
            "learnable": self.backend.get_learnable_state(),
            "optimisers": [o.state_dict() for o in self.optimisers],
            "rng": self.rng.bit_generator.state,
            "epoch": self._next_epoch,
        }

    def load_state_dict(self, state):
        self.backend.set_learnable_state(state["learnable"])
        for optimiser, saved in zip(self.optimisers, state["optimisers"], strict=True):
            optimiser.load_state_dict(saved)
        self.rng.bit_generator.state = state["rng"]
        self._next_epoch = state["epoch"]

    def _accuracy(self, offset: float) -> SparseCategoricalAccuracy:
        metric = SparseCategoricalAccuracy()
        metric.correct = int(np.sum(self.backend.weights["c/weight"] > offset))
        metric.total = 6
        return metric

    def train(self, num_epochs, callbacks, resume_from=None, validate=False, num_batches=3):
        cbl = CallbackList(callbacks, mode="train", compiled_network=self, backend=self.backend,
                           num_batches=num_batches, num_epochs=num_epochs, global_plugins=False,
                           resume_from=resume_from)
        try:
            return self._train(cbl, num_epochs, resume_from, validate, num_batches)
        finally:
            cbl.close()  # as the runtime does: the run's folders are released however it ends

    def _train(self, cbl, num_epochs, resume_from, validate, num_batches):
        start = 0
        if resume_from is not None:
            (checkpoint,) = [c for c in cbl.callbacks if hasattr(c, "restore")]
            start = checkpoint.restore(self, resume_from)
        self.stop_training = False
        cbl.on_train_begin()
        metrics = {}
        for epoch in range(start, num_epochs):
            order = self.rng.permutation(num_batches)
            cbl.on_epoch_begin(epoch)
            for batch in order:
                cbl.on_batch_begin(int(batch))
                weight = self.backend.weights["c/weight"]
                grad = self.rng.normal(size=6) + 0.1 * weight * (batch + 1)
                self.optimisers[0].update(weight, grad)
                metrics = {OUT: self._accuracy(0.0)}
                cbl.on_batch_end(int(batch), metrics)
            self.validation_metrics = {OUT: self._accuracy(0.2)} if validate else None
            cbl.run.validation_metrics = self.validation_metrics
            self._next_epoch = epoch + 1
            cbl.on_epoch_end(epoch, metrics)
            if self.stop_training:
                break
        cbl.on_train_end(metrics)
        return metrics


class Counter(Callback):
    """A stateful callback: counts batches and keeps a running sum of the weights."""

    def __init__(self, key=None):
        self.key = key
        self.batches = 0
        self.total = np.zeros(6)

    def set_params(self, backend=None, **kwargs):
        self._backend = backend

    def on_batch_end(self, batch, metrics):
        self.batches += 1
        self.total = self.total + self._backend.weights["c/weight"]

    def state_dict(self):
        return {"batches": self.batches, "total": self.total.copy()}

    def load_state_dict(self, state):
        self.batches = state["batches"]
        self.total = np.array(state["total"])

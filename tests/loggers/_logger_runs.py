"""A small network trained with EventProp, and callbacks that note what the loggers should see."""

from __future__ import annotations

import numpy as np

from spikehooks import Callback, EventPropCompiler, InputLayer, Layer, SequentialNetwork
from spikehooks.connectivity import Dense
from spikehooks.neurons import IntegrateFireInput, LeakyIntegrate, LeakyIntegrateFire
from spikehooks.synapses import Exponential

_RNG = np.random.default_rng(0)
X = _RNG.random((24, 4)).astype(np.float32) * 3
Y = _RNG.integers(0, 3, 24)
DT = 1.0
TIMESTEPS = 20
HIDDEN = 8


class Truth(Callback):
    """Note per epoch the training metric, loss, learning rate, validation metric and weights."""

    def __init__(self):
        self.rows: dict[int, dict[str, float]] = {}
        self.weights: dict[int, dict[str, np.ndarray]] = {}
        self.test: list[float] = []

    def on_epoch_end(self, epoch, metrics, run):
        network = run.compiled_network
        self.rows[epoch] = {
            "loss": network.epoch_loss,
            "learning_rate": network.optimisers[0][0].alpha,
            "sparse_categorical_accuracy": next(iter(metrics.values())).result,
        }
        self.weights[epoch] = run.backend.get_learnable_state()

    def on_validation_end(self, epoch, metrics):
        self.rows[epoch]["val_sparse_categorical_accuracy"] = next(iter(metrics.values())).result


class SetRank(Callback):
    """What a communicator does on a rank other than 0: the run context says which rank.

    Placed first, it sets the rank before the other callbacks' ``set_params``.
    """

    def __init__(self, rank):
        self.rank = rank

    def set_params(self, run=None, **kwargs):
        run.rank, run.num_ranks = self.rank, 2

    def on_test_begin(self):
        pass


def network():
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4, name="in", record_spikes=True)
        hid = Layer(Dense(("normal", {"mean": 0.5, "sd": 0.3})),
                    LeakyIntegrateFire(v_thresh=1.0, relative_reset=False), HIDDEN,
                    synapse=Exponential(5.0), name="hid", record_spikes=True)
        out = Layer(Dense(("normal", {"mean": 0.2, "sd": 0.3})), LeakyIntegrate(readout="sum_var"),
                    3, synapse=Exponential(5.0), name="out")
    return net, inp, hid, out


def train(num_epochs, callbacks, evaluate_callbacks=None, make_callbacks=None, **kwargs):
    """Train (and optionally evaluate) a fresh network; ``make_callbacks(hid)`` adds recorders."""
    net, inp, hid, out = network()
    if make_callbacks is not None:
        callbacks = [*callbacks, *make_callbacks(hid)]
    compiled = EventPropCompiler(example_timesteps=TIMESTEPS, dt=DT,
                                 losses="sparse_categorical_crossentropy",
                                 optimiser=("adam", {"alpha": 0.01}), batch_size=4,
                                 rng_seed=3).compile(net)
    with compiled:
        result = compiled.train({inp: X}, {out: Y}, num_epochs=num_epochs, callbacks=callbacks,
                                **kwargs)
        if evaluate_callbacks is not None:
            metrics, _ = compiled.evaluate({inp: X}, {out: Y}, callbacks=evaluate_callbacks)
            return result, float(next(iter(metrics.values())).result)
    return result, None

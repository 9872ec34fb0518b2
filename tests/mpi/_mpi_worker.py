"""One process of the MPI tests: ``mpiexec -n N python _mpi_worker.py SCENARIO OUT [options]``.

Also imported by the tests, which call :func:`run` with ``communicator=None``
for the single-process reference.  Each scenario writes ``OUT/rank<r>.pkl``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from _rank_main import rank_main

from spikehooks import Callback, InputLayer, Layer, SequentialNetwork
from spikehooks.callbacks.monitor import metric_names
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.connectivity import Dense
from spikehooks.data import generate_yin_yang_dataset
from spikehooks.initializers import Normal
from spikehooks.losses import RelativeMeanSquareError
from spikehooks.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from spikehooks.optimisers import Adam
from spikehooks.synapses import Exponential

DT = 1.0
STEPS = 30
NUM_EXAMPLES = 20


def data(num: int = NUM_EXAMPLES) -> tuple[list, np.ndarray]:
    """Yin-Yang examples: 5 input spikes (bias first) within 26 ms; labels 0..2."""
    return generate_yin_yang_dataset(num, STEPS - 4 * DT, 2 * DT, seed=0)


def network(task: str, hidden: int = 12) -> tuple[Any, Any, Any, Any]:
    """A 5-hidden-3 net: ``ttfs`` (first-spike-time, RMSE loss) or ``ce`` (avg_var, CE)."""
    lif = {"tau_mem": 20.0, "relative_reset": False, "integrate_during_refrac": False,
           "scale_i": True}
    net = SequentialNetwork()
    with net:
        inp = InputLayer(SpikeInput(max_spikes=64 * 5), 5)
        hid = Layer(Dense(Normal(mean=1.5, sd=0.78)), LeakyIntegrateFire(**lif), hidden,
                    Exponential(5.0, scale_i=True), record_spikes=True)
        if task == "ttfs":
            out = Layer(Dense(Normal(mean=0.93, sd=0.1)),
                        LeakyIntegrateFire(readout="first_spike_time", **lif), 3,
                        Exponential(5.0, scale_i=True))
        else:
            out = Layer(Dense(Normal(mean=0.2, sd=0.37)),
                        LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"), 3,
                        Exponential(5.0, scale_i=True))
    return net, inp, hid, out


class StopAt(Callback):
    """Halves Adam's rate every epoch and stops training at a given batch of epoch 1."""

    def __init__(self, batch: int):
        self.batch = batch

    def set_params(self, compiled_network=None, **kwargs):
        self._net = compiled_network

    def on_epoch_begin(self, epoch):
        self._net.optimisers[0][0].alpha = 0.01 / (epoch + 1)

    def on_batch_end(self, batch, metrics):
        if self._net.optimisers[0][0].alpha < 0.01 and batch == self.batch:
            self._net.stop_training = True


class FailAt(Callback):
    """Raises in on_batch_end of the given batch."""

    def __init__(self, batch: int):
        self.batch = batch

    def on_batch_end(self, batch, metrics):
        if batch == self.batch:
            raise RuntimeError(f"deliberate failure at batch {batch}")


class EpochValues(Callback):
    """Notes per epoch the values a logger writes, as this rank sees them."""

    def __init__(self):
        self.rows: dict[int, dict[str, float]] = {}

    def on_epoch_end(self, epoch, metrics, run):
        network = run.compiled_network
        self.rows[epoch] = {"loss": float(network.epoch_loss),
                            "learning_rate": float(network.optimisers[0][0].alpha),
                            **{metric_names(m)[0]: float(m.result) for m in metrics.values()}}

    def on_validation_end(self, epoch, metrics):
        self.rows[epoch].update({"val_" + metric_names(m)[0]: float(m.result)
                                 for m in metrics.values()})


class PassExamples(Callback):
    """A validation callback after a recorder: notes at each pass's end what the recorder
    holds (mlGeNN's validation callbacks read each pass at on_epoch_end)."""

    def __init__(self, recorder: Any):
        self.recorder = recorder
        self.seen: list[list[int]] = []

    def on_epoch_end(self, epoch, metrics):
        self.seen.append(list(self.recorder.example_indices))


def _recorders(hid: Any, out: Any) -> list[Any]:
    """One recorder of each kind, gathering: spikes, a voltage, weights per step and per batch."""
    from spikehooks_recorders import ConnVarRecorder, SpikeRecorder, VarRecorder

    return [SpikeRecorder(hid, key="spikes", gather=True),
            VarRecorder(out, "v", key="v", gather=True),
            ConnVarRecorder(out, "g", key="g", example_filter=[1, 2, 7, 13], gather=True),
            # Batches holding example 3 or 9 (on whichever rank they fall).
            ConnVarRecorder(out, "weight", key="w", per="batch", example_filter=[3, 9],
                            trg_neuron_filter=[0, 2], gather=True)]


def _recorded(cb_data: dict, recorders: list[Any], prefix: str = "") -> dict[str, Any]:
    """What the recorders hold, as plain arrays (with their example indices and batches)."""
    out: dict[str, Any] = {}
    for recorder in recorders:
        key = recorder.key
        if key == prefix + "spikes":
            times, ids = cb_data[key]
            out[key + ".times"] = [np.asarray(t) for t in times]
            out[key + ".ids"] = [np.asarray(i) for i in ids]
        else:
            out[key] = [np.asarray(v) for v in cb_data[key]]
        out[key + ".examples"] = list(recorder.example_indices)
        if hasattr(recorder, "batches"):
            out[key + ".batches"] = list(recorder.batches)
    return out


def _record(opts: argparse.Namespace, communicator: Any, x: list, y: np.ndarray,
            layers: tuple[Any, Any, Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Evaluate (or train, with ``--train``) with gathering recorders."""
    net, inp, hid, out = layers
    recorders = _recorders(hid, out)
    if not opts.train:
        compiler = InferenceCompiler(STEPS, dt=DT, batch_size=opts.batch,
                                     communicator=communicator)
        with compiler.compile(net) as compiled:
            metrics, cb_data = compiled.evaluate({inp: x}, {out: y}, callbacks=recorders,
                                                 shard=opts.shard)
        result["accuracy"] = metrics[out].result
        result.update(_recorded(cb_data, recorders))
        return result
    from spikehooks_recorders import SpikeRecorder

    compiler = EventPropCompiler(STEPS, RelativeMeanSquareError(2.0), Adam(0.01),
                                 batch_size=opts.batch, dt=DT, communicator=communicator)
    validation = [SpikeRecorder(hid, key="val_spikes", gather=True)]
    passes = PassExamples(validation[0])
    with compiler.compile(net) as compiled:
        train_metrics, val_metrics, cb_data, val_data = compiled.train(
            {inp: x}, {out: y}, num_epochs=opts.epochs, shuffle=opts.shuffle,
            callbacks=recorders, validation_callbacks=[*validation, passes],
            validation_split=0.2, shard=opts.shard)
        result["weights"] = compiled.backend.get_learnable_state()
    result["val_pass_examples"] = passes.seen
    result["accuracy"] = train_metrics[out].result
    result["val_accuracy"] = val_metrics[out].result
    result.update(_recorded(cb_data, recorders))
    result.update(_recorded(val_data, validation, "val_"))
    return result


def run(opts: argparse.Namespace, communicator: Any = None) -> dict[str, Any]:
    """Run one scenario on this rank; return what it produced."""
    rank = 0 if communicator is None else communicator.rank
    ranks = 1 if communicator is None else communicator.num_ranks
    x, y = data(opts.num_examples)
    if opts.slice:
        # mlGeNN's way: each rank passes its own slice of the data.
        x, y = x[rank::ranks], y[rank::ranks]
    if opts.bad_labels_on_rank == rank:
        y = y.copy()
        y[0] = 7
    hidden = 13 if opts.mismatch_on_rank == rank else 12
    net, inp, hid, out = network(opts.task, hidden)
    result: dict[str, Any] = {"rank": rank}
    if opts.scenario == "record":
        return _record(opts, communicator, x, y, (net, inp, hid, out), result)
    reg = {"reg_lambda_upper": 1e-3, "reg_nu_upper": 2.0} if opts.task == "ce" else {}
    loss: Any = RelativeMeanSquareError(2.0)
    if opts.task == "ce":
        loss = "sparse_categorical_crossentropy"
    # As mlGeNN's MPI examples do, a rank may derive example_timesteps from its own data.
    steps = STEPS + (opts.more_steps_on_rank_1 if rank == 1 else 0) + opts.more_steps
    compiler = EventPropCompiler(steps, loss, Adam(0.01), batch_size=opts.batch, dt=DT,
                                 communicator=communicator, **reg)
    compiled = compiler.compile(net)
    callbacks: list[Any] = []
    if opts.checkpoint and (rank == 0 or opts.all_ranks):
        # As in mlGeNN's examples only rank 0 gets the checkpoint, unless --all-ranks.
        from spikehooks_checkpoint import Checkpoint

        callbacks.append(Checkpoint(path=opts.checkpoint))
    if opts.stop_at >= 0 and rank == 0:
        callbacks.append(StopAt(opts.stop_at))
    if opts.early_stop and rank == 0:
        from spikehooks_schedules import EarlyStopping

        # On rank 0 only: its decision and its restored best weights hold everywhere.
        callbacks.append(EarlyStopping("val_accuracy", patience=1, restore_best=True))
    if opts.fail_at >= 0 and rank == opts.fail_on_rank:
        callbacks.append(FailAt(opts.fail_at))
    values = EpochValues()
    if opts.loggers:
        from spikehooks_loggers import CSVLogger, TensorBoardLogger

        # The same list on every rank, as a script run under mpiexec builds it.
        callbacks += [values, CSVLogger(opts.loggers / "training.csv"),
                      TensorBoardLogger(opts.loggers / "tb")]
    with compiled:
        train_metrics, val_metrics, _, _ = compiled.train(
            {inp: x}, {out: y}, num_epochs=opts.epochs, shuffle=opts.shuffle,
            callbacks=callbacks, validation_callbacks=[], validation_split=0.2,
            resume_from=opts.resume, shard=opts.shard)
        result["weights"] = compiled.backend.get_learnable_state()
        result["accuracy"] = train_metrics[out].result
        result["val_accuracy"] = val_metrics[out].result
        result["epoch_loss"] = compiled.epoch_loss
        result["alpha"] = compiled.optimisers[0][0].alpha
        result["step"] = compiled.optimisers[0][0].step
        result["epoch_values"] = values.rows
        result["num_timesteps"] = compiled.num_timesteps
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["train", "record"])
    p.add_argument("out", type=Path)
    p.add_argument("--task", default="ttfs", choices=["ttfs", "ce"])
    p.add_argument("--batch", type=int, default=4, help="global batch size")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--num-examples", type=int, default=NUM_EXAMPLES)
    p.add_argument("--shard", action="store_true")
    p.add_argument("--slice", action="store_true")
    p.add_argument("--shuffle", action="store_true")
    p.add_argument("--train", action="store_true", help="record: during train, not evaluate")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--all-ranks", action="store_true", help="callbacks on every rank")
    p.add_argument("--resume", default=None)
    p.add_argument("--stop-at", type=int, default=-1)
    p.add_argument("--early-stop", action="store_true")
    p.add_argument("--loggers", type=Path, default=None,
                   help="folder for a CSVLogger and a TensorBoardLogger on every rank")
    p.add_argument("--fail-at", type=int, default=-1)
    p.add_argument("--fail-on-rank", type=int, default=1)
    p.add_argument("--bad-labels-on-rank", type=int, default=-1)
    p.add_argument("--mismatch-on-rank", type=int, default=-1)
    p.add_argument("--more-steps", type=int, default=0)
    p.add_argument("--more-steps-on-rank-1", type=int, default=0)
    return p


def options(*args: str) -> argparse.Namespace:
    """Parse worker options (for the in-process single-process reference)."""
    return parser().parse_args(["train", "unused", *args])


def main() -> None:
    rank_main(parser, run)


if __name__ == "__main__":
    main()

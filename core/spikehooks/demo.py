"""``spikehooks demo``: train a small SNN with EventProp and write what a researcher looks at.

The demo is the whole product in one run: it trains on an embedded data set
(scikit-learn's digits, or generated Yin-Yang points: nothing is downloaded)
with the progress bar, a checkpoint and a learning-rate schedule, evaluates
with spike and voltage recorders on a few test examples, and writes to the
output folder:

- ``raster.png``: input and hidden spikes of the first recorded test example;
- ``voltage.png``: hidden membrane voltages of that example;
- ``accuracy.png``: training and validation accuracy per epoch;
- ``checkpoints/``: one checkpoint per epoch (the last three kept);
- ``summary.json``: accuracy, timings, versions, and every callback that ran
  with the distribution and version it came from;
- with ``log=`` (``--log``): ``training.csv``, ``tensorboard/`` or an MLflow
  run in ``mlflow.db`` and ``mlruns/`` (see :data:`LOGGERS`).

Plugins are used by their registered names only (``"spike_recorder"``,
``"checkpoint"``, ...), as any user script would; the core imports none of
them.  Ctrl-C stops training cleanly after the current batch and keeps the
checkpoints already written; a second Ctrl-C aborts.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .callbacks.callback import Callback
from .errors import ConfigurationError, SpikehooksError, UnknownNameError
from .plugins import registry

#: Test examples whose spikes and voltages are recorded for the figures.
RECORDED_EXAMPLES = 4

#: Training epochs per data set when ``epochs`` is None (each well under two minutes).
DEFAULT_EPOCHS = {"digits": 20, "yin-yang": 10}


@dataclass
class DemoTask:
    """A data set, a network on it and the settings to train it."""

    name: str
    network: Any
    input: Any
    hidden: Any
    output: Any
    x_train: Any
    y_train: np.ndarray
    x_test: Any
    y_test: np.ndarray
    compiler_kwargs: dict[str, Any]
    default_epochs: int


def _digits_task(seed: int) -> DemoTask:
    from . import InputLayer, Layer, SequentialNetwork
    from .connectivity import Dense
    from .data import linear_latency_encode_data, load_digits
    from .initializers import Normal
    from .neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
    from .optimisers import Adam
    from .synapses import Exponential

    batch_size, example_time, dt = 32, 20.0, 1.0
    digits = load_digits(test_fraction=0.2, seed=seed)

    def encode(images: np.ndarray) -> list[Any]:
        # One spike per pixel, brighter pixels earlier, inside (2 ms, 18 ms).
        return linear_latency_encode_data((images * 255).astype(np.uint8),
                                          example_time - 2 * dt, 2 * dt)

    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=batch_size * 64), 64, record_spikes=True,
                         name="input")
        hidden = Layer(Dense(Normal(mean=0.4, sd=0.25)),
                       LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, relative_reset=False,
                                          integrate_during_refrac=False, scale_i=True),
                       128, Exponential(5.0, scale_i=True), record_spikes=True, name="hidden")
        out = Layer(Dense(Normal(mean=0.2, sd=0.37)),
                    LeakyIntegrate(tau_mem=20.0, scale_i=True, readout="avg_var"), 10,
                    Exponential(5.0, scale_i=True), name="output")
    return DemoTask(
        name="digits", network=network, input=inp, hidden=hidden, output=out,
        x_train=encode(digits.x_train), y_train=digits.y_train,
        x_test=encode(digits.x_test), y_test=digits.y_test,
        compiler_kwargs={"example_timesteps": int(example_time / dt), "dt": dt,
                         "batch_size": batch_size,
                         "losses": "sparse_categorical_crossentropy",
                         "optimiser": Adam(1e-2)},
        default_epochs=DEFAULT_EPOCHS["digits"],
    )


def _yin_yang_task(seed: int) -> DemoTask:
    from . import InputLayer, Layer, SequentialNetwork
    from .connectivity import Dense
    from .data import generate_yin_yang_dataset
    from .initializers import Normal
    from .losses import RelativeMeanSquareError
    from .neurons import LeakyIntegrateFire, SpikeInput
    from .optimisers import Adam
    from .synapses import Exponential

    batch_size, example_time, dt = 64, 30.0, 0.5
    x_train, y_train = generate_yin_yang_dataset(3000, example_time - 4 * dt, 2 * dt, seed=seed)
    x_test, y_test = generate_yin_yang_dataset(1000, example_time - 4 * dt, 2 * dt,
                                               seed=seed + 1000)

    def lif(**kwargs: Any) -> Any:
        return LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0, tau_refrac=None,
                                  relative_reset=False, integrate_during_refrac=False,
                                  scale_i=True, **kwargs)

    network = SequentialNetwork()
    with network:
        inp = InputLayer(SpikeInput(max_spikes=batch_size * 5), 5, record_spikes=True,
                         name="input")
        hidden = Layer(Dense(Normal(mean=1.5, sd=0.78)), lif(), 100,
                       Exponential(5.0, scale_i=True), record_spikes=True, name="hidden")
        out = Layer(Dense(Normal(mean=0.93, sd=0.1)), lif(readout="first_spike_time"), 3,
                    Exponential(5.0, scale_i=True), name="output")
    return DemoTask(
        name="yin-yang", network=network, input=inp, hidden=hidden, output=out,
        x_train=x_train, y_train=np.asarray(y_train), x_test=x_test, y_test=np.asarray(y_test),
        compiler_kwargs={"example_timesteps": int(round(example_time / dt)), "dt": dt,
                         "batch_size": batch_size, "losses": RelativeMeanSquareError(2.0),
                         "optimiser": Adam(3e-3, 0.9, 0.99)},
        default_epochs=DEFAULT_EPOCHS["yin-yang"],
    )


TASKS = {"digits": _digits_task, "yin-yang": _yin_yang_task}

#: ``--log`` choice -> (registered callback name, its arguments for output folder ``out``).
LOGGERS = {
    "csv": lambda out: ("csv_logger", {"filename": str(out / "training.csv")}),
    "tensorboard": lambda out: ("tensorboard", {"log_dir": str(out / "tensorboard"),
                                                 "overwrite": True}),
    "mlflow": lambda out: ("mlflow", {
        "experiment": "spikehooks-demo",
        "tracking_uri": os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{(out / 'mlflow.db').resolve().as_posix()}",
        "artifact_location": (out / "mlruns").resolve().as_uri()}),
}


class History(Callback):
    """Collect the accuracy of every training epoch, or of every validation pass.

    Both lists call ``on_epoch_end`` once per epoch (the validation callbacks
    after each pass, as in mlGeNN), so the one hook serves both.
    """

    def __init__(self, output: Any):
        self.output = output
        self.accuracy: list[float] = []

    def on_epoch_end(self, epoch: int, metrics: dict[Any, Any]) -> None:
        self.accuracy.append(float(metrics[self.output].result))


@contextlib.contextmanager
def stop_on_interrupt(compiled_net: Any) -> Iterator[dict[str, bool]]:
    """Turn the first Ctrl-C into ``compiled_net.stop_training = True``.

    Training then ends after the current batch, ``on_train_end`` runs and
    what was saved stays; a second Ctrl-C raises ``KeyboardInterrupt``.
    """
    state = {"interrupted": False}
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if state["interrupted"]:
            raise KeyboardInterrupt
        state["interrupted"] = True
        compiled_net.stop_training = True
        print("\nInterrupted: stopping after this batch (Ctrl-C again to abort).",
              file=sys.stderr)

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def _origin(name: str) -> dict[str, str]:
    info = registry.find("callbacks", name)
    return {"name": name, "distribution": info.distribution, "version": info.version,
            "entry_point": info.value}


def _make(name: str, kwargs: dict[str, Any]) -> Any:
    try:
        return registry.create("callbacks", (name, kwargs))
    except UnknownNameError as exc:
        raise SpikehooksError(
            f"spikehooks demo needs the callback {name!r}, which no installed distribution "
            f"offers. Install the plugins with: python -m pip install -r requirements-dev.txt "
            f"(or pip install plugins/recorders plugins/checkpoint plugins/schedules "
            f"'plugins/loggers[tensorboard,mlflow]')."
        ) from exc


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("spikehooks", "spikehooks-recorders", "spikehooks-checkpoint",
                 "spikehooks-schedules", "spikehooks-loggers", "numpy", "pluggy", "tqdm",
                 "matplotlib"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def run_demo(out: str | Path = "spikehooks-demo", epochs: int | None = None,
             dataset: str = "digits", backend: str = "numpy", seed: int = 0,
             log: str | None = None) -> dict[str, Any]:
    """Train, evaluate, record and plot; return the summary also written to ``summary.json``.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    epochs : int, optional
        Training epochs (default: 20 for digits, 10 for Yin-Yang; either
        finishes in well under two minutes on two cores).
    dataset : {"digits", "yin-yang"}
    backend : str
        Registered backend name; training needs one that supports EventProp.
    seed : int
        Seed of the data split, initial weights and shuffling.
    log : {"csv", "tensorboard", "mlflow"}, optional
        Also log training and test metrics with that logger of the loggers
        plugin (``spikehooks-loggers``), writing into ``out``.
    """
    if dataset not in TASKS:
        raise ConfigurationError(
            f"spikehooks demo dataset must be one of {sorted(TASKS)}; got {dataset!r}."
        )
    if epochs is not None and (isinstance(epochs, bool)
                               or not isinstance(epochs, (int, np.integer)) or epochs < 1):
        raise ConfigurationError(f"spikehooks demo epochs must be an int >= 1; got {epochs!r}.")
    epochs = None if epochs is None else int(epochs)
    if log is not None and log not in LOGGERS:
        raise ConfigurationError(
            f"spikehooks demo log must be one of {sorted(LOGGERS)} or None; got {log!r}."
        )
    from ._demo_plots import save_figures
    from .compilers import EventPropCompiler

    out = Path(out)
    task = TASKS[dataset](seed)
    num_epochs = epochs if epochs is not None else task.default_epochs

    named: dict[str, dict[str, Any]] = {
        "batch_progress_bar": {},
        # A demo run replaces the results of an earlier one in the same output folder.
        "checkpoint": {"path": str(out / "checkpoints"), "keep_last": 3, "overwrite": True},
        "cosine_annealing": {"total_epochs": num_epochs},
    }
    if log is not None:
        log_name, log_kwargs = LOGGERS[log](out)
        named[log_name] = log_kwargs  # type: ignore[assignment]
    train_callbacks = [_make(name, kwargs) for name, kwargs in named.items()]
    logger: Any = train_callbacks[-1] if log is not None else None
    history, val_history = History(task.output), History(task.output)

    compiler = EventPropCompiler(backend=backend, rng_seed=seed, **task.compiler_kwargs)
    compiled_net = compiler.compile(task.network)
    out.mkdir(parents=True, exist_ok=True)  # only once the settings were accepted
    timings: dict[str, float] = {}
    with compiled_net, stop_on_interrupt(compiled_net) as interrupt:
        start = time.perf_counter()
        compiled_net.train(
            {task.input: task.x_train}, {task.output: task.y_train}, num_epochs=num_epochs,
            shuffle=True, callbacks=[*train_callbacks, history],
            validation_split=0.1, validation_callbacks=[val_history],
        )
        timings["train_s"] = time.perf_counter() - start
        recorders = {
            "spike_recorder": [
                {"pop": task.input, "key": "input_spikes",
                 "example_filter": list(range(RECORDED_EXAMPLES))},
                {"pop": task.hidden, "key": "hidden_spikes",
                 "example_filter": list(range(RECORDED_EXAMPLES))},
            ],
            "var_recorder": [
                {"pop": task.hidden, "var": "v", "key": "hidden_v",
                 "example_filter": list(range(RECORDED_EXAMPLES))},
            ],
        }
        eval_callbacks = ["batch_progress_bar"] + [
            _make(name, kwargs) for name, many in recorders.items() for kwargs in many
        ] + ([logger] if logger is not None else [])
        start = time.perf_counter()
        metrics, cb_data = compiled_net.evaluate({task.input: task.x_test},
                                                 {task.output: task.y_test},
                                                 callbacks=eval_callbacks)
        timings["evaluate_s"] = time.perf_counter() - start

    figures = save_figures(out, cb_data, history.accuracy, val_history.accuracy,
                           dt=task.compiler_kwargs["dt"])
    if log == "mlflow" and logger.run_id is not None:
        for figure in figures:
            logger.log_artifact(out / figure, "figures")
    epochs_run = len(history.accuracy)
    summary = {
        "dataset": task.name,
        "backend": backend,
        "seed": seed,
        "epochs_requested": num_epochs,
        "epochs_run": epochs_run,
        "interrupted": interrupt["interrupted"],
        "test_accuracy": float(metrics[task.output].result),
        "train_accuracy_per_epoch": history.accuracy,
        "validation_accuracy_per_epoch": val_history.accuracy,
        "timings_s": {**timings,
                      "train_per_epoch_s": timings["train_s"] / max(epochs_run, 1)},
        "recorded": {
            "examples": RECORDED_EXAMPLES,
            "hidden_spikes": int(sum(t.size for t in cb_data["hidden_spikes"][0])),
            "input_spikes": int(sum(t.size for t in cb_data["input_spikes"][0])),
        },
        "callbacks": {
            "train": [_origin(name) for name in named]
            + [{"name": "History", "distribution": "spikehooks", "version": "demo"}],
            "evaluate": [_origin("batch_progress_bar")]
            + [_origin(name) for name, many in recorders.items() for _ in many]
            + ([_origin(log_name)] if log is not None else []),
        },
        "log": None if logger is None else {"logger": log, "repr": repr(logger),
                                            "run_id": getattr(logger, "run_id", None)},
        "checkpoints": sorted(p.name for p in (out / "checkpoints").iterdir() if p.is_dir()),
        "figures": figures,
        "versions": _versions(),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"test accuracy {summary['test_accuracy']:.3f} after {epochs_run} epochs "
          f"({timings['train_s']:.1f} s training); results in {out}")
    return summary


__all__ = ["run_demo"]

"""The demo's figures: spike raster, membrane voltages, accuracy per epoch (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import MissingDependencyError


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError(
            'spikehooks demo needs matplotlib for its figures; install it with '
            'python -m pip install "spikehooks[plot]".'
        ) from exc
    matplotlib.use("Agg")  # files only: works on machines without a display
    import matplotlib.pyplot as plt

    return plt


def save_figures(out: Path, cb_data: dict[Any, Any], train_accuracy: list[float],
                 validation_accuracy: list[float], dt: float) -> list[str]:
    """Write raster.png, voltage.png and accuracy.png to ``out``; return their names.

    Parameters
    ----------
    cb_data : dict
        Holds ``"input_spikes"`` and ``"hidden_spikes"`` (SpikeRecorder data:
        per-example float64 times in ms and int32 ids) and ``"hidden_v"``
        (VarRecorder data: per-example float32 arrays (timesteps, neurons)).
    train_accuracy, validation_accuracy : list of float
        One value per epoch, in [0, 1].
    dt : float
        Simulation step in ms, for the voltage plot's time axis.
    """
    plt = _pyplot()
    names = []

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    for axis, key, label in ((top, "input_spikes", "input"), (bottom, "hidden_spikes", "hidden")):
        times, ids = cb_data[key][0][0], cb_data[key][1][0]
        axis.scatter(times, ids, s=4, marker="|", color="black")
        axis.set_ylabel(f"{label} neuron")
        axis.set_title(f"{label} spikes, test example 0 ({times.size} spikes)")
    bottom.set_xlabel("time (ms)")
    figure.tight_layout()
    figure.savefig(out / "raster.png", dpi=100)
    plt.close(figure)
    names.append("raster.png")

    voltages = cb_data["hidden_v"][0]
    figure, axis = plt.subplots(figsize=(7, 4))
    time_ms = [step * dt for step in range(voltages.shape[0])]
    for neuron in range(min(5, voltages.shape[1])):
        axis.plot(time_ms, voltages[:, neuron], label=f"neuron {neuron}")
    axis.set_xlabel("time (ms)")
    axis.set_ylabel("membrane voltage V")
    axis.set_title("hidden membrane voltage, test example 0")
    axis.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    figure.savefig(out / "voltage.png", dpi=100)
    plt.close(figure)
    names.append("voltage.png")

    figure, axis = plt.subplots(figsize=(7, 4))
    epochs = list(range(len(train_accuracy)))
    axis.plot(epochs, [100 * a for a in train_accuracy], marker="o", label="training")
    if validation_accuracy:
        axis.plot(list(range(len(validation_accuracy))),
                  [100 * a for a in validation_accuracy], marker="s", label="validation")
    axis.set_xlabel("epoch")
    axis.set_ylabel("accuracy (%)")
    axis.set_title("accuracy per epoch")
    axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(out / "accuracy.png", dpi=100)
    plt.close(figure)
    names.append("accuracy.png")
    return names

"""Input neuron models: turn the data passed to ``evaluate``/``train`` into spikes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigurationError
from ..initializers import resolve_value
from ._base import InputNeuron, check_count, check_param
from ._spike_examples import SpikeExamples, all_valid


class IntegrateFireInput(InputNeuron):
    """Integrate-and-fire input: ``V += x`` every step, spike and ``V = v_reset`` at threshold.

    A neuron with constant input ``x > 0`` (and ``v = 0``) first spikes in
    step ``ceil(v_thresh / x) - 1`` (float32 accumulation).

    Parameters
    ----------
    v_thresh : float, array or Initializer
        Threshold (per neuron: GeNN variable ``Vthresh``).
    v_reset : float, array or Initializer
        Value ``V`` is set to after a spike (absolute reset; per neuron:
        ``Vreset``).
    v : float, array or Initializer
        Initial ``V``.
    input_frames : int
        Frames per example; > 1 for time-varying input of shape
        ``(n_examples, input_frames, *population.shape)``.
    input_frame_timesteps : int
        Timesteps each frame is shown for; the last frame stays on.
    """

    var_names: ClassVar[dict[str, str]] = {"v": "V", "input": "Input"}
    param_vars: ClassVar[dict[str, str]] = {"v_thresh": "Vthresh", "v_reset": "Vreset"}
    #: Input is copied frame by frame into the ``Input`` variable.
    frame_input: ClassVar[bool] = True

    def __init__(
        self,
        v_thresh: Any = 1.0,
        v_reset: Any = 0.0,
        v: Any = 0.0,
        input_frames: int = 1,
        input_frame_timesteps: int = 1,
    ):
        super().__init__()
        name = type(self).__name__
        self.v_thresh = check_param(v_thresh, name, "v_thresh")
        self.v_reset = check_param(v_reset, name, "v_reset")
        self.v = resolve_value(v, f"{name} v")
        self.input_frames = check_count(input_frames, name, "input_frames")
        self.input_frame_timesteps = check_count(input_frame_timesteps, name,
                                                 "input_frame_timesteps")


class PoissonInput(InputNeuron):
    """Poisson spike source: the input is a rate in spikes per ms (kHz).

    In each step a neuron with rate ``x > 0`` spikes when a uniform draw
    ``u`` from the compiler's seeded generator satisfies ``u >= exp(-x * dt)``,
    i.e. with probability ``1 - exp(-x * dt)``.

    Parameters
    ----------
    signed_spikes : bool
        mlGeNN's negative spikes; not supported here (must be False).
    input_frames, input_frame_timesteps : int
        Time-varying input, as for :class:`IntegrateFireInput`.
    """

    var_names: ClassVar[dict[str, str]] = {"input": "Input"}

    def __init__(self, signed_spikes: bool = False, input_frames: int = 1,
                 input_frame_timesteps: int = 1):
        super().__init__()
        if signed_spikes:
            raise ConfigurationError(
                "PoissonInput signed_spikes must be False; got True. spikehooks has no signed "
                "spikes; split positive and negative rates into two populations."
            )
        self.signed_spikes = False
        self.input_frames = check_count(input_frames, "PoissonInput", "input_frames")
        self.input_frame_timesteps = check_count(input_frame_timesteps, "PoissonInput",
                                                 "input_frame_timesteps")


class SpikeInput(InputNeuron):
    """Spike source emitting given spike times, one list per example.

    The input of a data set is a sequence of
    :class:`spikehooks.data.PreprocessedSpikes`, one per example.  In step
    ``i`` a neuron fires when its next pending spike time ``s`` (ms)
    satisfies ``float32(i * dt) >= s``, then moves to the next one, so it
    emits at most one spike per step: ``s = 2.5`` fires in step 3; two
    spikes in the same step's window come out in consecutive steps.

    Parameters
    ----------
    max_spikes : int
        Most spikes one batch may hold (all its examples together).
    """

    def __init__(self, max_spikes: int = 1000000):
        super().__init__()
        self.max_spikes = check_count(max_spikes, "SpikeInput", "max_spikes")

    def prepare_input(self, x: Any, population: Any) -> SpikeExamples:
        """Validate a sequence of ``PreprocessedSpikes`` (one per example).

        The whole set is screened at once (:func:`._spike_examples.all_valid`);
        only a set the screen does not pass is checked example by example,
        which names the first bad example.

        Returns
        -------
        SpikeExamples
            The examples, with each one's spike count.
        """
        owner = f"input of population {population.name!r}"
        if hasattr(x, "end_spikes") or not hasattr(x, "__len__"):
            raise ConfigurationError(
                f"{owner} must be a sequence of PreprocessedSpikes, one per example; got "
                f"{type(x).__name__}. Wrap a single example in a list: [spikes]."
            )
        examples = list(x)
        counts = all_valid(examples, population.num_neurons)
        if counts is None:
            counts = _check_each(examples, owner, population.num_neurons)
        return SpikeExamples(examples, counts)

    def check_batches(self, prepared: list, batches: list[np.ndarray],
                      population: Any) -> None:
        """Raise :class:`ConfigurationError` if a batch holds more than ``max_spikes`` spikes."""
        if not batches:
            return
        counts = getattr(prepared, "num_spikes", None)
        if counts is None:  # a plain list of examples
            counts = np.array([len(spikes.spike_times) for spikes in prepared], dtype=np.int64)
        # Every batch's total in one pass: running sums of the counts in batch order.
        ends = np.cumsum(np.fromiter(map(len, batches), dtype=np.int64, count=len(batches)))
        running = np.concatenate([[0], np.cumsum(counts[np.concatenate(batches)])])
        totals = running[ends] - running[np.concatenate([[0], ends[:-1]])]
        over = np.flatnonzero(totals > self.max_spikes)
        if len(over):
            batch = int(over[0])
            raise ConfigurationError(
                f"SpikeInput max_spikes of population {population.name!r} must hold every "
                f"spike of a batch; got {int(totals[batch])} spikes in batch {batch} for "
                f"max_spikes={self.max_spikes}. Raise max_spikes."
            )


def _check_each(examples: list, owner: str, num_neurons: int) -> np.ndarray:
    """Check the examples one by one; raise naming the first bad one, else return the
    spike count of each (int64)."""
    counts = np.zeros(len(examples), dtype=np.int64)
    for index, spikes in enumerate(examples):
        end = getattr(spikes, "end_spikes", None)
        times = getattr(spikes, "spike_times", None)
        if end is None or times is None:
            raise ConfigurationError(
                f"{owner} example {index} must be PreprocessedSpikes; got "
                f"{type(spikes).__name__}. Build it with spikehooks.data.preprocess_spikes."
            )
        end = np.asarray(end)
        if end.shape != (num_neurons,):
            raise ConfigurationError(
                f"{owner} example {index} must describe {num_neurons} neurons; "
                f"got end_spikes of shape {end.shape}. Pass num_neurons="
                f"{num_neurons} to preprocess_spikes."
            )
        times = np.asarray(times)
        if times.dtype.kind not in "iuf":
            raise ConfigurationError(
                f"{owner} example {index} spike_times must be real numbers in ms; got dtype "
                f"{times.dtype}. Rebuild it with preprocess_spikes from float times."
            )
        if len(times) != (int(end[-1]) if len(end) else 0) or not np.all(np.isfinite(times)):
            raise ConfigurationError(
                f"{owner} example {index} spike_times must be finite with one entry per "
                f"spike counted by end_spikes; got {len(times)} times. Rebuild it with "
                f"preprocess_spikes."
            )
        counts[index] = len(times)
    return counts

__all__ = ["IntegrateFireInput", "PoissonInput", "SpikeInput"]

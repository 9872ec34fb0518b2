"""The GeNN backend: a network compiled to C++ by GeNN and simulated through pygenn."""

from __future__ import annotations

import itertools
import weakref
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigurationError
from ...neurons import IntegrateFireInput, PoissonInput, SpikeInput
from .._lookup import check_batch_input, readout_of
from ._build import build_model
from ._plan import make_plan
from ._protocol import ProtocolMethods
from ._pygenn import default_cache_dir, import_pygenn

#: GeNN backends that simulate one batch entry only.
_UNBATCHED = ("single_threaded_cpu",)

#: Build folder -> the live backend loaded from it.  GeNN keeps a model's group
#: tables in static variables of its compiled library, and the operating system
#: loads a library only once per process, so two live models must never come
#: from the same folder.
_IN_USE: weakref.WeakValueDictionary[Path, GeNNBackend] = weakref.WeakValueDictionary()


def _free_build_dir(root: Path, key: str) -> Path:
    """Return ``root/key``, or ``root/key-<n>`` for the first ``n`` no live backend uses."""
    candidates = (root / (key if n == 0 else f"{key}-{n}") for n in itertools.count())
    return next(path for path in candidates if path not in _IN_USE)


class GeNNBackend(ProtocolMethods):
    """Simulates a network with GeNN (inference only).

    Implements every member of :class:`spikehooks.backends.Backend` and the
    run API compiled networks use (:meth:`reset`, :meth:`set_input`,
    :meth:`step`, :meth:`run`, :meth:`get_readout`), with the NumPy
    backend's semantics: same initial values and weights for a given
    ``rng_seed``, same step rules, same resets.

    Parameters
    ----------
    network : Network
        The network to simulate.
    batch_size : int
        Batch entries simulated in parallel; 1 on the CPU backend.
    dt : float
        Step in ms.
    num_timesteps : int
        Timesteps per batch.
    num_recording_timesteps : int, optional
        Capacity of GeNN's spike recording buffers (default ``num_timesteps``).
    rng_seed : int
        Seed of the initial values and weights (drawn as the NumPy backend
        draws them) and of GeNN's device generator (Poisson input; GeNN gets
        ``rng_seed + 1``, as it seeds from the clock when given 0).
    cache_dir : str or pathlib.Path, optional
        Folder holding builds, one sub-folder per model (default:
        ``$SPIKEHOOKS_GENN_CACHE``, else ``spikehooks/genn`` in the user's
        cache folder).
    genn_backend : str
        GeNN code generation backend: ``"single_threaded_cpu"`` or, where
        pygenn was built with CUDA, ``"cuda"``.
    genn_preferences : dict, optional
        Preferences of GeNN's backend, e.g. ``{"optimize_code": True}``
        (compiles with ``-O3 -ffast-math``: faster, but float results may
        then differ in the last bits from the NumPy backend and mlGeNN).
    training : bool
        Set by training compilers; the genn backend refuses it.

    Attributes
    ----------
    build_dir : pathlib.Path
        This model's build folder: ``<cache_dir>/<cache_key>``, or
        ``<cache_dir>/<cache_key>-<n>`` while other live backends use the
        same model (each needs its own copy of GeNN's library).
    cache_key : str
        Hash of everything that shapes the generated code.
    build_seconds, load_seconds : float
        Wall time of code generation plus compilation (near 0 when reused)
        and of loading the model.
    """

    name = "genn"
    #: Training compilers check this before building (see docs/genn-backend.md).
    supports_training: ClassVar[bool] = False

    def __init__(self, network: Any, *, batch_size: int, dt: float, num_timesteps: int,
                 num_recording_timesteps: int | None = None, rng_seed: int = 0,
                 cache_dir: str | Path | None = None,
                 genn_backend: str = "single_threaded_cpu",
                 genn_preferences: dict[str, Any] | None = None, training: bool = False):
        if training:
            raise ConfigurationError(
                "backend must support training; got 'genn', which runs inference only. "
                "Train with backend='numpy', then load the weights into an "
                "InferenceCompiler(..., backend='genn') network."
            )
        if int(batch_size) > 1 and genn_backend in _UNBATCHED:
            raise ConfigurationError(
                f"batch_size must be 1 on GeNN's {genn_backend} backend; got {batch_size}. "
                f"Pass batch_size=1, or use backend='numpy' for batched simulation."
            )
        pygenn = import_pygenn()
        self.network = network
        self.batch_size = int(batch_size)
        self.dt = float(dt)
        self.num_timesteps = int(num_timesteps)
        self.num_recording_timesteps = int(num_recording_timesteps or num_timesteps)
        self.timestep = 0
        self.num_examples_in_batch = self.batch_size
        self.num_recording_pulls = 0
        self._window_start = 0
        self._pulled: dict[Any, tuple[int, np.ndarray]] = {}
        plan = make_plan(network, batch_size=self.batch_size, dt=self.dt,
                         num_timesteps=self.num_timesteps, rng_seed=rng_seed,
                         genn_backend=genn_backend, preferences=genn_preferences or {})
        self.cache_key = plan.cache_key(getattr(pygenn, "__version__", "?"))
        root = (Path(cache_dir) if cache_dir is not None else default_cache_dir()).expanduser()
        root = root.resolve()
        capacity = {p: p.neuron.max_spikes for p in network.populations
                    if isinstance(p.neuron, SpikeInput)}
        built = build_model(pygenn, plan, build_dir=_free_build_dir(root, self.cache_key),
                            num_recording_timesteps=self.num_recording_timesteps,
                            spike_capacity=capacity)
        _IN_USE[built.build_dir] = self
        self.build_dir = built.build_dir
        self.build_seconds = built.build_seconds
        self.load_seconds = built.load_seconds
        self._init_state(plan, built)
        self._frames: dict[Any, np.ndarray] = {}
        self._frame_switches: dict[int, list[Any]] = {}
        self._plan_frame_switches()

    # ------------------------------------------------------- running (own API)
    def reset(self, *, reset_vars: bool = True, reset_in_syn: bool = True) -> None:
        """Prepare a new batch: timestep 0, empty recording window.

        Parameters
        ----------
        reset_vars : bool
            Set state variables and readout accumulators to their initial values.
        reset_in_syn : bool
            Also clear synaptic input and the spikes in flight (emitted in the
            last step, due in the next).  False reproduces mlGeNN, where they
            carry over into the next batch.
        """
        if reset_vars:
            for view, initial, array in self._resettable:
                view[...] = initial
                array.push_to_device()
        if reset_in_syn:
            for view, array in self._in_flight:
                view[...] = 0
                array.push_to_device()
        self._model.timestep = 0
        self.timestep = 0
        self._window_start = 0

    def set_input(self, population: Any, examples: Any) -> None:
        """Load the input of the current batch's real examples; padding gets none.

        Parameters
        ----------
        population : Population
            An input population.
        examples : numpy.ndarray or list
            For rate-like models, float32 of shape ``(k, input_frames, n)``
            (``k <= batch_size``); for :class:`SpikeInput`, a list of ``k``
            ``PreprocessedSpikes``.
        """
        self._group(population)
        neuron = population.neuron
        k = check_batch_input(population, len(examples), self.batch_size)
        if isinstance(neuron, SpikeInput):
            self._set_spike_input(population, examples)
        elif isinstance(neuron, (IntegrateFireInput, PoissonInput)):
            frames = self._frames[population]
            frames[:, :k] = np.swapaxes(np.asarray(examples, dtype=np.float32), 0, 1)
            frames[:, k:] = 0.0
            self._show_frame(population, 0)
        else:
            raise ConfigurationError(
                f"population {population.name!r} must have an input neuron model to take "
                f"input; got {type(neuron).__name__}. Pass data only for input populations."
            )

    def step(self) -> None:
        """Advance one timestep."""
        t = self.timestep
        if self._frame_switches:
            self._switch_frames(t)
        self._model.step_time()
        self.timestep = t + 1

    def run(self, num_steps: int) -> None:
        """Advance ``num_steps`` timesteps with no Python callback."""
        step_time, start = self._model.step_time, self.timestep
        if self._frame_switches:
            for t in range(start, start + num_steps):
                self._switch_frames(t)
                step_time()
        else:
            for _ in range(num_steps):
                step_time()
        self.timestep = start + num_steps

    def get_readout(self, population: Any) -> np.ndarray:
        """Return a copy of the readout of ``population``.

        Returns
        -------
        numpy.ndarray of float32, shape (batch_size, *population.shape)
        """
        var = self._group(population).vars[readout_of(population).var_name]
        var.pull_from_device()
        return np.array(var.view, dtype=np.float32).reshape((self.batch_size, *population.shape))

    # ---------------------------------------------------------------- inputs
    def _plan_frame_switches(self) -> None:
        """Allocate input frames and list the steps where a new frame is shown."""
        for pop in self.network.populations:
            neuron = pop.neuron
            if not isinstance(neuron, (IntegrateFireInput, PoissonInput)):
                continue
            self._frames[pop] = np.zeros((neuron.input_frames, self.batch_size,
                                          pop.num_neurons), dtype=np.float32)
            for frame in range(1, neuron.input_frames):
                t = frame * neuron.input_frame_timesteps
                if t < self.num_timesteps:
                    self._frame_switches.setdefault(t, []).append(pop)

    def _switch_frames(self, t: int) -> None:
        pops = self._frame_switches.get(t)
        if pops is not None:
            for pop in pops:
                self._show_frame(pop, t // pop.neuron.input_frame_timesteps)

    def _show_frame(self, population: Any, frame: int) -> None:
        var = self._group(population).vars["Input"]
        self._batch_view(var.view)[...] = self._frames[population][frame]
        var.push_to_device()

    def _set_spike_input(self, population: Any, examples: list) -> None:
        n = population.num_neurons
        group = self._group(population)
        start = np.zeros((self.batch_size, n), dtype=np.uint32)
        end = np.zeros((self.batch_size, n), dtype=np.uint32)
        pieces, base = [], 0
        for b, spikes in enumerate(examples):
            ends = np.asarray(spikes.end_spikes, dtype=np.int64)
            end[b] = base + ends
            start[b] = base + np.concatenate(([0], ends[:-1]))
            pieces.append(np.asarray(spikes.spike_times, dtype=np.float32))
            base += int(ends[-1]) if len(ends) else 0
        egp = group.extra_global_params["SpikeTimes"]
        if base > len(egp.view):
            raise ConfigurationError(
                f"SpikeInput max_spikes of population {population.name!r} must hold every "
                f"spike of a batch; got {base} spikes for max_spikes={len(egp.view)}. Raise "
                f"max_spikes."
            )
        if base:
            egp.view[:base] = np.concatenate(pieces)
            egp.push_to_device()
        for name, value in (("StartSpike", start), ("EndSpike", end)):
            var = group.vars[name]
            self._batch_view(var.view)[...] = value
            var.push_to_device()

    def __repr__(self) -> str:
        return (f"GeNNBackend(batch_size={self.batch_size}, dt={self.dt}, "
                f"num_timesteps={self.num_timesteps}, populations="
                f"{[p.name for p in self.network.populations]}, build_dir='{self.build_dir}')")


__all__ = ["GeNNBackend"]

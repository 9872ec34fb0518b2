"""The inference compiler: builds a network for evaluation and prediction."""

from __future__ import annotations

from typing import Any

from .compiled_network import CompiledNetwork
from .compiler import Compiler, check_model_name, check_positive_int


class InferenceCompiler(Compiler):
    """Compile a network for ``evaluate``/``predict``.

    The positional parameters are mlGeNN's, in mlGeNN's order; the
    spikehooks additions are keyword-only.

    Parameters
    ----------
    evaluate_timesteps : int
        Timesteps each example is simulated for (>= 1).
    dt : float
        Simulation step in ms.
    batch_size : int
        Examples simulated in parallel.
    rng_seed : int
        Seed for initialisers and stochastic inputs.
    kernel_profiling, prefer_in_memory_connect : bool
        Accepted for mlGeNN scripts; GeNN-only.
    reset_time_between_batches, reset_vars_between_batches : bool
        See :class:`Compiler`.
    reset_in_syn_between_batches : bool
        True (default, unlike mlGeNN): every batch starts from a full reset.
        False: mlGeNN's carry-over of synaptic input and in-flight spikes.
    backend : str, (str, dict) or None
        Registered backend name, optionally with backend keyword arguments,
        e.g. ``("numpy", {"accumulation": "blas"})``; None (default): the
        compiled backend when numba is installed, else the NumPy backend.
    num_recording_timesteps : int, optional
        Spike recording buffer capacity in timesteps (default: ``evaluate_timesteps``).
    communicator : Communicator or str, optional
        Evaluate data-parallel over its ranks; ``batch_size`` is then the
        global batch (see :class:`Compiler`).
    **genn_kwargs
        mlGeNN's keywords for GeNN's model (see :class:`Compiler`).

    Examples
    --------
    >>> compiler = InferenceCompiler(evaluate_timesteps=100, batch_size=32)  # doctest: +SKIP
    >>> compiled_net = compiler.compile(network)                              # doctest: +SKIP
    >>> with compiled_net:                                                    # doctest: +SKIP
    ...     metrics, cb_data = compiled_net.evaluate({inp: x}, {out: y})
    """

    def __init__(self, evaluate_timesteps: int, dt: float = 1.0, batch_size: int = 1,
                 rng_seed: int = 0, kernel_profiling: bool = False,
                 prefer_in_memory_connect: bool = True,
                 reset_time_between_batches: bool = True,
                 reset_vars_between_batches: bool = True,
                 reset_in_syn_between_batches: bool = True, communicator: Any = None, *,
                 backend: Any = None, num_recording_timesteps: int | None = None,
                 **genn_kwargs: Any):
        super().__init__(batch_size=batch_size, dt=dt, backend=backend, rng_seed=rng_seed,
                         kernel_profiling=kernel_profiling,
                         prefer_in_memory_connect=prefer_in_memory_connect,
                         reset_time_between_batches=reset_time_between_batches,
                         reset_vars_between_batches=reset_vars_between_batches,
                         reset_in_syn_between_batches=reset_in_syn_between_batches,
                         communicator=communicator, **genn_kwargs)
        self.evaluate_timesteps = check_positive_int(evaluate_timesteps, "InferenceCompiler",
                                                     "evaluate_timesteps")
        self.num_recording_timesteps = (
            self.evaluate_timesteps if num_recording_timesteps is None
            else check_positive_int(num_recording_timesteps, "InferenceCompiler",
                                    "num_recording_timesteps")
        )

    def compile(self, network: Any, name: str | None = None) -> CompiledNetwork:
        """Build ``network`` on the backend; returns a :class:`CompiledNetwork`.

        ``name`` is mlGeNN's model name (its GeNN code folder); it becomes
        ``compiled_net.name``.
        """
        check_model_name(name)
        backend = self.build_backend(network, self.evaluate_timesteps,
                                     self.num_recording_timesteps)
        compiled = CompiledNetwork(network, backend, self, self.evaluate_timesteps)
        compiled.name = name
        return self._finish(compiled)


__all__ = ["InferenceCompiler"]

"""The base compiler: validated settings and the backend a network is built on."""

from __future__ import annotations

import logging
from typing import Any

from ..backends._default import default_backend_name, unsupported_by_default
from ..checks import int_at_least, integer, real
from ..errors import ConfigurationError
from ..plugins import registry
from ._genn_kwargs import backend_kwargs, check_genn_kwargs
from ._memory import check_batch_fits

log = logging.getLogger("spikehooks.backends")


def check_positive_int(value: Any, owner: str, name: str) -> int:
    """Return ``value`` as an int >= 1, or raise :class:`ConfigurationError`."""
    return int_at_least(value, owner, name, f"Pass e.g. {name}=32.")


def check_model_name(name: Any) -> None:
    """Refuse a ``compile(network, name)`` name that is not a string or None."""
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(
            f"compile name must be a non-empty string or None; got {name!r}. Pass e.g. "
            f"compile(network, 'latency_mnist') as in mlGeNN."
        )


def single_output_loss(losses: Any, output: Any, owner: str) -> Any:
    """The loss spec of a compiler that trains one output population.

    ``losses`` is the spec itself (a name, a Loss, ...) or a dict with
    ``output`` as its only key, as mlGeNN's compilers accept.
    """
    if not isinstance(losses, dict):
        return losses
    if list(losses) != [output]:
        raise ConfigurationError(
            f"{owner} losses must have exactly the output population {output.name!r} as "
            f"key; got {[getattr(p, 'name', p) for p in losses]}. Key the dict by the output "
            f"layer object, e.g. {{output: 'sparse_categorical_crossentropy'}}, or pass the "
            f"loss alone."
        )
    return losses[output]


class Compiler:
    """Base class of compilers: settings shared by inference and training.

    The positional parameters are mlGeNN's base ``Compiler``'s, in its order.

    Parameters
    ----------
    supported_matrix_type : None
        mlGeNN's GeNN matrix types; only None (see the error otherwise).
    dt : float
        Simulation step in ms (> 0).
    batch_size : int
        Examples simulated in parallel (>= 1).
    backend : str, (str, dict) or None
        Registered backend name (``"compiled"``, ``"numpy"``), optionally with
        keyword arguments for the backend, e.g. ``("compiled", {"num_threads": 1})``.
        None (default): the compiled backend when numba is installed, else
        the NumPy backend (see ``docs/compiled-backend.md``).
    rng_seed : int
        Seed for weight/state initialisers and stochastic inputs.
    reset_time_between_batches, reset_vars_between_batches : bool
        mlGeNN's switches.  Time is always reset; ``reset_vars_between_batches=False``
        lets neuron state run on from one batch into the next.
    reset_in_syn_between_batches : bool
        True (default): every batch starts from a full reset: state,
        synaptic input and spikes in flight, so results never depend on batch
        size or example order.  False: mlGeNN's behaviour, where synaptic
        input and the spikes of a batch's last step carry into the next.
    kernel_profiling, prefer_in_memory_connect : bool
        Accepted so mlGeNN scripts run unchanged; they only concern GeNN.
    communicator : Communicator, str or (str, dict), optional
        Run data-parallel over the communicator's ranks (e.g. ``MPI()`` or
        ``"mpi"``).  As in mlGeNN, ``batch_size`` is then the *global* batch:
        each rank simulates ``batch_size // num_ranks`` examples, so it must
        divide evenly.  Rank 0's initial weights are given to every rank.

    Attributes
    ----------
    batch_size : int
        Examples simulated per batch on this rank.
    full_batch_size : int
        Examples per batch over all ranks (``batch_size`` without a communicator).
    """

    def __init__(
        self,
        supported_matrix_type: Any = None,
        dt: float = 1.0,
        batch_size: int = 1,
        rng_seed: int = 0,
        kernel_profiling: bool = False,
        communicator: Any = None,
        *,
        backend: Any = None,
        reset_time_between_batches: bool = True,
        reset_vars_between_batches: bool = True,
        reset_in_syn_between_batches: bool = True,
        prefer_in_memory_connect: bool = True,
        **genn_kwargs: Any,
    ):
        owner = type(self).__name__
        if supported_matrix_type is not None:
            raise ConfigurationError(
                f"{owner} supported_matrix_type must be None; got {supported_matrix_type!r}. "
                f"mlGeNN's list of GeNN matrix types has no meaning here: each backend stores "
                f"connections its own way. Leave it out."
            )
        #: mlGeNN's ``**genn_kwargs`` (GeNN model preferences, see ``_genn_kwargs``).
        self.genn_kwargs = check_genn_kwargs(genn_kwargs, owner)
        self.batch_size = check_positive_int(batch_size, owner, "batch_size")
        self.full_batch_size = self.batch_size
        self.communicator = _resolve_communicator(communicator, owner)
        if self.communicator is not None:
            ranks = self.communicator.num_ranks
            if self.batch_size % ranks:
                raise ConfigurationError(
                    f"{owner} batch_size must be divisible by the number of ranks ({ranks}); "
                    f"got {self.batch_size}. It is the global batch, split evenly across ranks: "
                    f"pass e.g. batch_size={ranks * max(1, self.batch_size // ranks)}."
                )
            self.batch_size //= ranks
        self.dt = real(dt, owner, "dt", "a finite number > 0 (ms)", "Pass e.g. dt=1.0.",
                       lambda v: v > 0)
        self.rng_seed = integer(rng_seed, owner, "rng_seed",
                                "an int >= 0 (numpy's seeds are non-negative)",
                                "Pass e.g. rng_seed=0.", lambda v: v >= 0)
        if not reset_time_between_batches:
            raise ConfigurationError(
                f"{owner} reset_time_between_batches must be True; got False. spikehooks "
                f"always counts time from 0 in each batch."
            )
        self.reset_time_between_batches = True
        self.reset_vars_between_batches = bool(reset_vars_between_batches)
        self.reset_in_syn_between_batches = bool(reset_in_syn_between_batches)
        self.kernel_profiling = bool(kernel_profiling)
        self.prefer_in_memory_connect = bool(prefer_in_memory_connect)
        #: True when no backend was named: a network the compiled backend cannot run
        #: then falls back to the NumPy backend.
        self._default_backend = backend is None
        if backend is None:
            backend = default_backend_name()
        self.backend = backend
        name, self._backend_kwargs = backend, dict[str, Any]()
        if isinstance(backend, tuple) and len(backend) == 2 and isinstance(backend[1], dict):
            name, self._backend_kwargs = backend
        self._backend_class = registry.resolve("backends", name)

    #: True when training keeps every timestep of a batch (counted by the memory check).
    keeps_history = False

    def build_backend(self, network: Any, num_timesteps: int,
                      num_recording_timesteps: int | None = None) -> Any:
        """Create the backend simulating ``network`` with this compiler's settings."""
        if not network.populations:
            raise ConfigurationError(
                f"{type(self).__name__} network must hold at least one population; got an "
                f"empty {type(network).__name__}. Create populations inside `with network:`."
            )
        for pop in network.populations:
            needs = getattr(pop.neuron, "compiler", None)
            if needs is not None and type(self).__name__ != needs:
                raise ConfigurationError(
                    f"{type(self).__name__} population {pop.name!r} must have a neuron this "
                    f"compiler simulates; got {type(pop.neuron).__name__}, which only "
                    f"{needs} runs. Compile the network with {needs}."
                )
        check_batch_fits(type(self).__name__, network, self.batch_size, num_timesteps,
                         num_recording_timesteps or num_timesteps, self.keeps_history)
        backend_class = self._backend_class
        if self._default_backend and unsupported_by_default(network) is not None:
            backend_class = registry.resolve("backends", "numpy")
        options = backend_kwargs(backend_class, self.genn_kwargs, self._backend_kwargs)
        try:
            return backend_class(
                network,
                batch_size=self.batch_size,
                dt=self.dt,
                num_timesteps=num_timesteps,
                num_recording_timesteps=num_recording_timesteps,
                rng_seed=self.rng_seed,
                **options,
            )
        except TypeError as exc:
            if not self._backend_kwargs:
                raise
            raise ConfigurationError(
                f"{type(self).__name__} backend options must be ones the backend accepts; got "
                f"{sorted(self._backend_kwargs)} ({exc}). Check the backend's parameters."
            ) from exc

    def compile(self, network: Any, name: str | None = None) -> Any:
        """Turn ``network`` into a compiled network (implemented by subclasses)."""
        raise NotImplementedError

    def agree_example_timesteps(self, steps: int) -> int:
        """Data-parallel: the largest ``example_timesteps`` any rank asked for.

        The training compilers call it in ``compile``, on every rank (it is
        a collective), before the backend is built, and simulate the value
        it returns.  mlGeNN's MPI examples derive ``example_timesteps`` from
        each rank's own slice (its latest spike), so ranks may ask for
        different lengths; the largest is what one process over the whole
        data set computes, so the ranks together train as that process does
        (``docs/scale-out.md``).  Without a communicator: ``steps``.
        """
        if self.communicator is None:
            return steps
        asked = [int(s) for s in self.communicator.allgather(int(steps))]
        if max(asked) != steps:
            log.info("%s example_timesteps %d raised to %d, the largest of the ranks' %s",
                     type(self).__name__, steps, max(asked), asked)
        return max(asked)

    def _finish(self, compiled: Any) -> Any:
        """Attach the data-parallel runtime: check the ranks agree, share rank 0's weights."""
        if self.communicator is not None:
            from ._parallel import DataParallel

            compiled.parallel = DataParallel(self.communicator)
            compiled.parallel.check_compiled(compiled)
        return compiled


def _resolve_communicator(spec: Any, owner: str) -> Any:
    if spec is None:
        return None
    from ..communicators import Communicator

    if isinstance(spec, Communicator):
        return spec
    if isinstance(spec, (str, tuple)):
        return registry.create("communicators", spec, expected=Communicator)
    raise ConfigurationError(
        f"{owner} communicator must be a Communicator, a registered name such as 'mpi', or "
        f"None; got {type(spec).__name__} {spec!r}. Pass communicator=MPI() from "
        f"spikehooks.communicators."
    )


__all__ = ["Compiler", "check_model_name", "check_positive_int"]

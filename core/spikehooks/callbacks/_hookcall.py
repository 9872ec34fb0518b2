"""Turning pluggy hook implementations into fast callables.

pluggy's own call path (``pm.hook.name(**kwargs)``) builds a kwargs dict and
walks a generic loop on every call; that is several times slower than calling
bound methods directly.  The dispatcher therefore asks pluggy only to
*validate* implementations, then builds for each hook one callable that loops
over plain bound methods with positional arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .callback import LIFECYCLE_METHODS


def _noop(*args: Any) -> None:
    """The call made for a hook nobody implements."""


def adapt(function: Callable[..., Any], argnames: Sequence[str], hook: str, run: Any):
    """Return a callable taking the hook's standard positional arguments.

    Parameters
    ----------
    function : callable
        The implementation (a bound method or a plugin function).
    argnames : sequence of str
        The argument names it takes (a subset of the hookspec's).
    hook : str
        The hook name, e.g. ``"on_batch_end"``.
    run : RunContext
        Bound as ``run=`` where the implementation asks for it.
    """
    standard = LIFECYCLE_METHODS[hook]
    if tuple(argnames) == standard:
        return function
    wanted = tuple(argnames)
    if wanted == standard + ("run",):
        def call_with_run(*args: Any) -> Any:
            return function(*args, run=run)
        return call_with_run

    # Any other subset or order: pass by name, as pluggy would.
    picks = [(name, standard.index(name)) for name in wanted if name != "run"]
    extra = {"run": run} if "run" in wanted else {}

    def call_by_name(*args: Any) -> Any:
        return function(**{name: args[pos] for name, pos in picks}, **extra)

    return call_by_name


def chain(functions: Sequence[Callable[..., Any]], arity: int) -> Callable[..., Any]:
    """Return one callable calling ``functions`` in order with the same arguments.

    Zero functions: a no-op.  One: the function itself (no extra frame).
    More: a closure whose call sequence is unrolled in generated code, so the
    per-call cost stays at a plain loop over bound methods (a ``*args``
    closure costs about 50% more per call).

    Parameters
    ----------
    functions : sequence of callable
        Each takes ``arity`` positional arguments.
    arity : int
        The hook's number of positional arguments (0, 1 or 2).
    """
    if not functions:
        return _noop
    if len(functions) == 1:
        return functions[0]
    params = ", ".join(f"a{i}" for i in range(arity))
    body = "\n".join(f"    f{i}({params})" for i in range(len(functions)))
    source = f"def call_all({params}):\n{body}\n"
    namespace: dict[str, Any] = {f"f{i}": f for i, f in enumerate(functions)}
    exec(compile(source, "<spikehooks hook chain>", "exec"), namespace)  # noqa: S102
    return namespace["call_all"]


def is_noop(function: Callable[..., Any]) -> bool:
    """Return True for the callable of a hook nobody implements."""
    return function is _noop


def attached(callback: Any) -> dict[str, int]:
    """The hooks set as instance attributes of ``callback`` (older style), by identity."""
    attrs = getattr(callback, "__dict__", {})
    return {hook: id(attrs[hook]) for hook in LIFECYCLE_METHODS if hook in attrs}


def code_of(function: Any) -> Any:
    """The code object of a function or bound method (to find its frames in a traceback)."""
    return getattr(getattr(function, "__func__", function), "__code__", None)

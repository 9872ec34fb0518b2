"""String names to objects, through entry points.

Every kind of object the API accepts by name has an entry-point group
``spikehooks.<kind>``.  The core registers its own built-ins through its own
entry points, exactly like a third-party distribution.

Entry-point metadata is read once per process and cached; only the entry
point asked for is imported.  A name may be qualified by its distribution,
``"dist:name"``, which is how a user picks one of two distributions offering
the same name.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ..errors import AmbiguousNameError, ConfigurationError, PluginError, UnknownNameError

#: The kinds of named objects, each read from the group ``spikehooks.<kind>``.
KINDS = (
    "callbacks",
    "serialisers",
    "backends",
    "neurons",
    "synapses",
    "connectivity",
    "initializers",
    "readouts",
    "metrics",
    "losses",
    "optimisers",
    "communicators",
    "plugins",
)

GROUP_PREFIX = "spikehooks."


@dataclass(frozen=True)
class EntryPointInfo:
    """One registered name.

    Attributes
    ----------
    kind : str
        The kind (group without the ``spikehooks.`` prefix).
    name : str
        The registered name.
    value : str
        ``"module:attr"`` the name points at.
    distribution : str
        Name of the distribution offering it.
    version : str
        Version of that distribution.
    """

    kind: str
    name: str
    value: str
    distribution: str
    version: str

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    def describe(self) -> str:
        """Return ``"name = value (dist version)"``, for messages."""
        return f"{self.name} = {self.value} ({self.distribution} {self.version})"

    def load(self) -> Any:
        """Import and return the object the entry point names."""
        return metadata.EntryPoint(self.name, self.value, GROUP_PREFIX + self.kind).load()


def _normalise_dist(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@functools.lru_cache(maxsize=1)
def _all_entry_points() -> dict[str, tuple[EntryPointInfo, ...]]:
    """Read every ``spikehooks.*`` entry point once per process.

    A distribution seen twice on ``sys.path`` (for example an editable install
    beside a build folder) is counted once.
    """
    found: dict[str, dict[tuple[str, str, str], EntryPointInfo]] = {}
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        version = dist.version or "?"
        for ep in dist.entry_points:
            if not ep.group.startswith(GROUP_PREFIX):
                continue
            kind = ep.group[len(GROUP_PREFIX):]
            info = EntryPointInfo(kind, ep.name, ep.value, dist_name, version)
            dedupe = (_normalise_dist(dist_name), ep.name, ep.value)
            found.setdefault(kind, {}).setdefault(dedupe, info)
    return {kind: tuple(infos.values()) for kind, infos in found.items()}


def clear_cache() -> None:
    """Forget the cached entry points and loaded objects (after installing a plugin)."""
    _all_entry_points.cache_clear()
    _loaded.clear()


def entry_points(kind: str | None = None) -> list[EntryPointInfo]:
    """Return the registered entry points of one kind, or of every kind.

    Parameters
    ----------
    kind : str, optional
        One of :data:`KINDS` or any other group suffix; None for all.
    """
    eps = _all_entry_points()
    if kind is not None:
        return list(eps.get(kind, ()))
    return [info for infos in eps.values() for info in infos]


def names(kind: str) -> list[str]:
    """Return the sorted names registered for ``kind``."""
    return sorted({info.name for info in entry_points(kind)})


_loaded: dict[tuple[str, str, str], Any] = {}


def find(kind: str, name: str) -> EntryPointInfo:
    """Return the entry point registered as ``name`` (or ``"dist:name"``) for ``kind``.

    Raises
    ------
    UnknownNameError
        No distribution offers the name; the message lists the known names
        and the closest match.
    AmbiguousNameError
        Several distributions offer it; the message names them and how to
        pick one.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(
            f"{kind[:-1] if kind.endswith('s') else kind} name must be a non-empty string; "
            f"got {name!r}. Pass a registered name (`spikehooks plugins` lists them) or an "
            f"object instead of a name."
        )
    dist_filter: str | None = None
    short = name
    if ":" in name:
        dist_filter, _, short = name.partition(":")
    candidates = [info for info in entry_points(kind) if info.name == short]
    if dist_filter is not None:
        candidates = [
            info
            for info in candidates
            if _normalise_dist(info.distribution) == _normalise_dist(dist_filter)
        ]
    if not candidates:
        known = names(kind)
        close = difflib.get_close_matches(short, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        where = f" from distribution {dist_filter!r}" if dist_filter else ""
        raise UnknownNameError(
            f"unknown {kind} name {name!r}{where}; known names: "
            f"{', '.join(known) if known else '(none installed)'}.{hint} "
            f"Install the distribution that provides it, or pass an object instead of a name.",
            kind=kind,
            name=name,
            known=known,
        )
    if len(candidates) > 1:
        # Sorted: the order installed distributions are found in depends on the file system.
        candidates.sort(key=lambda info: info.distribution)
        offers = "; ".join(info.describe() for info in candidates)
        choices = " or ".join(f"'{info.distribution}:{short}'" for info in candidates)
        raise AmbiguousNameError(
            f"{kind} name {short!r} is offered by {len(candidates)} distributions: {offers}. "
            f"Pick one with a qualified name, {choices}, or uninstall one of them."
        )
    return candidates[0]


def resolve(kind: str, name: str) -> Any:
    """Import and return the object registered as ``name`` for ``kind`` (cached).

    Raises
    ------
    PluginError
        The entry point exists but importing it failed; the message names the
        entry point, its distribution and the error.
    """
    info = find(kind, name)
    key = (kind, info.distribution, info.name)
    if key not in _loaded:
        try:
            _loaded[key] = info.load()
        except Exception as exc:  # any import error of third-party code
            raise PluginError(
                f"{kind} entry point {info.describe()} failed to load: "
                f"{type(exc).__name__}: {exc}. Reinstall or fix {info.distribution}, "
                f"or uninstall it.",
                entry_point=f"{info.name} = {info.value}",
                distribution=f"{info.distribution} {info.version}",
            ) from exc
    return _loaded[key]


def create(kind: str, spec: Any, *, expected: type | tuple[type, ...] | None = None) -> Any:
    """Turn a user's spec into an object of ``kind``.

    Parameters
    ----------
    kind : str
        The kind, e.g. ``"callbacks"``.
    spec : object, str or (str, dict)
        An object (returned as it is), a registered name (the class or
        factory is called with no arguments) or a ``(name, kwargs)`` pair.
    expected : type or tuple of types, optional
        When given, the created object must be an instance of it.

    Raises
    ------
    ConfigurationError
        A malformed pair, or constructor arguments the class rejects.
    """
    kwargs: dict[str, Any]
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif (
        isinstance(spec, tuple)
        and len(spec) == 2
        and isinstance(spec[0], str)
    ):
        name, kwargs = spec
        if not isinstance(kwargs, dict):
            raise ConfigurationError(
                f"{kind} spec {spec!r} must be (name, kwargs) with kwargs a dict; "
                f"got {type(kwargs).__name__}. Write ({name!r}, {{...}})."
            )
    else:
        return spec
    factory = resolve(kind, name)
    try:
        obj = factory(**kwargs)
    except TypeError as exc:
        raise ConfigurationError(
            f"{kind} {name!r} could not be constructed with {kwargs!r}: {exc}. "
            f"Check the constructor arguments of {getattr(factory, '__qualname__', factory)}."
        ) from exc
    if expected is not None and not isinstance(obj, expected):
        exp = expected if isinstance(expected, tuple) else (expected,)
        raise ConfigurationError(
            f"{kind} {name!r} must create a {' or '.join(t.__name__ for t in exp)}; "
            f"got {type(obj).__name__}. Fix the entry point's target."
        )
    return obj


__all__ = [
    "KINDS",
    "EntryPointInfo",
    "clear_cache",
    "create",
    "entry_points",
    "find",
    "names",
    "resolve",
]

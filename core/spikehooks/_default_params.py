"""mlGeNN's ``Network(default_params)``: per-model defaults that fill unpassed arguments.

``default_params`` maps a model class (a neuron or synapse) to keyword
defaults.  A model constructed inside ``with network:`` takes the network's
defaults for every argument the caller did not pass; arguments passed
explicitly always win.  The EventProp defaults
(``spikehooks.compilers.event_prop_compiler.default_params``) are the usual
use: ``SequentialNetwork(default_params)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from . import _network_context
from .errors import ConfigurationError


def check_default_params(default_params: Any, owner: str) -> dict[type, dict[str, Any]]:
    """Validate a ``default_params`` mapping; return a copy.

    Raises
    ------
    ConfigurationError
        A key that is not a class, a value that is not a dict, or a keyword
        the class's constructor does not take.
    """
    if default_params is None:
        return {}
    if not isinstance(default_params, Mapping):
        raise ConfigurationError(
            f"{owner} default_params must be a dict of model class -> dict of defaults; got "
            f"{type(default_params).__name__}. Pass e.g. "
            f"{{LeakyIntegrateFire: {{'scale_i': True}}}}."
        )
    checked: dict[type, dict[str, Any]] = {}
    for cls, defaults in default_params.items():
        if not isinstance(cls, type) or not isinstance(defaults, Mapping):
            raise ConfigurationError(
                f"{owner} default_params must map model classes to dicts; got {cls!r}: "
                f"{defaults!r}. Use the class itself as key, e.g. LeakyIntegrateFire."
            )
        accepted = set(inspect.signature(cls).parameters)
        unknown = sorted(set(defaults) - accepted)
        if unknown:
            raise ConfigurationError(
                f"{owner} default_params for {cls.__name__} must name constructor arguments "
                f"({', '.join(sorted(accepted))}); got {unknown}. Check the spelling."
            )
        checked[cls] = dict(defaults)
    return checked


def _defaults_for(cls: type) -> dict[str, Any]:
    network = _network_context.current_network()
    table = getattr(network, "default_params", None)
    if not table:
        return {}
    for klass in cls.__mro__:
        if klass in table:
            return table[klass]
    return {}


def takes_network_defaults(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a model's ``__init__`` so the active network's defaults fill unpassed arguments.

    Only the most derived constructor applies them, so a ``super().__init__``
    call inside a subclass does not apply them a second time.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        if type(self).__init__ is wrapped:
            defaults = _defaults_for(type(self))
            if defaults:
                passed = signature.bind_partial(self, *args, **kwargs).arguments
                kwargs = {**{k: v for k, v in defaults.items() if k not in passed}, **kwargs}
        init(self, *args, **kwargs)

    return wrapped


class NetworkDefaults:
    """Mixin for model base classes: every subclass constructor takes network defaults."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = takes_network_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]


__all__ = ["NetworkDefaults", "check_default_params", "takes_network_defaults"]

"""Reading ``SPIKEHOOKS_*`` environment variables: garbage is refused, never read as "off".

A flag set to a value we do not know (``SPIKEHOOKS_STRICT_PLUGINS=ture``)
would otherwise silently mean "unset"; every reader goes through
:func:`env_flag` so that one table of accepted spellings holds everywhere.
"""

from __future__ import annotations

import os

from .errors import ConfigurationError

#: Accepted spellings of a flag, case-insensitive; the empty string is "unset".
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off", "")


def env_flag(name: str) -> bool:
    """Return the boolean value of the environment variable ``name`` (False when unset).

    Raises
    ------
    ConfigurationError
        The variable holds a value that is neither a true nor a false spelling.
    """
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ConfigurationError(
        f"environment variable {name} must be one of {', '.join(TRUE_VALUES)} (on) or "
        f"{', '.join(v for v in FALSE_VALUES if v)} (off); got {raw!r}. "
        f"Set it to 1 or 0, or unset it."
    )


def env_names(name: str) -> list[str]:
    """Return the comma-separated names in the environment variable ``name`` (empty if unset).

    Raises
    ------
    ConfigurationError
        A name that is not a valid entry-point name (letters, digits, ``_``,
        ``-``, ``.`` and ``:``), such as a stray space inside a name.
    """
    raw = os.environ.get(name, "")
    names = [part.strip() for part in raw.split(",") if part.strip()]
    for part in names:
        if not all(ch.isalnum() or ch in "_-.:" for ch in part):
            raise ConfigurationError(
                f"environment variable {name} must be comma-separated entry-point names "
                f"(letters, digits, _ - . :); got {raw!r}. Write e.g. {name}=name_a,name_b."
            )
    return names

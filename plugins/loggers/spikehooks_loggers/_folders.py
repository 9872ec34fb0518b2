"""The one place loggers decide where they write: checked at construction, made at first write.

Kept in one module so that folder ownership (a run identity inside every
folder spikehooks writes) can be adopted here for all loggers at once.
"""

from __future__ import annotations

import os

from spikehooks.errors import ConfigurationError


def check_folder(path: str | os.PathLike[str], owner: str, param: str) -> str:
    """Return ``path`` as a string after refusing an existing file in its place."""
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ConfigurationError(
            f"{owner} {param} must be a folder path; got {path!r}. Pass e.g. {param}='logs'."
        )
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigurationError(
            f"{owner} {param} must name a folder; got the existing file {path!r}. Pass a "
            f"folder path (created if missing), e.g. {param}='logs'."
        )
    return path


def check_file(path: str | os.PathLike[str], owner: str, param: str) -> str:
    """Return ``path`` as a string after refusing a folder in its place."""
    path = os.fspath(path)
    if not isinstance(path, str) or not path:
        raise ConfigurationError(
            f"{owner} {param} must be a file path; got {path!r}. Pass e.g. "
            f"{param}='training.csv'."
        )
    if os.path.isdir(path):
        raise ConfigurationError(
            f"{owner} {param} must name a file; got the folder {path!r}. Pass a file path, "
            f"e.g. {param}={os.path.join(path, 'training.csv')!r}."
        )
    return path


def make_folder(path: str) -> str:
    """Create ``path`` (and its parents) when a run starts writing; return it."""
    os.makedirs(path, exist_ok=True)
    return path

"""The one place loggers decide where they write: checked at construction, claimed per run.

A folder a logger owns (TensorBoard's ``log_dir``) is claimed with the core's
:class:`spikehooks.folders.FolderClaim` when the run is set up: one writer at
a time, a run identity inside it, and a folder holding another run's files
refused unless the run resumes or says ``overwrite=True``.  A CSV file is one
file in a folder others may share, and an MLflow store belongs to MLflow, so
neither is claimed.
"""

from __future__ import annotations

import os
from typing import Any

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


def log_dir_claim(path: str, owner: str) -> Any:
    """The claim a logger makes on its own folder ``path`` (acquired in ``set_params``)."""
    from spikehooks.folders import FolderClaim

    return FolderClaim(path, kind="tensorboard", writer=owner, fixes=(
        "Pass resume_from=... to train() to continue that run, overwrite=True to log a new "
        "run there (TensorBoard then shows it from its first epoch on), or another log_dir."))


def make_folder(path: str) -> str:
    """Create ``path`` (and its parents) when a run starts writing; return it."""
    os.makedirs(path, exist_ok=True)
    return path

"""Where the plugin's emulator roots live: one fresh root per test, spec file or shared pool.

Separate roots keep tests independent under ``pytest -n auto`` (nothing in one root is seen
from another). With ``--aml-root PATH`` they are created under ``PATH/<xdist worker>/`` so a user
can find them afterwards; otherwise the plugin's own roots go to a private temporary directory
that is removed at the end of the session unless ``--aml-keep`` is given.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from emulator.sdk.workspace import Workspace
from emulator.settings import ROOT_ENV
from pytest_amlemu.environ import scoped_environ

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "test-rg"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

ROOTS_KEY = pytest.StashKey["Roots"]()


def worker_id() -> str:
    """``gw0``, ``gw1``, ... under pytest-xdist; ``main`` otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class Roots:
    """Creates roots under one base directory per session (and worker)."""

    def __init__(self, explicit: Path | None, keep: bool) -> None:
        self._explicit = explicit
        self._keep = keep
        self._base: Path | None = None

    @property
    def base(self) -> Path:
        if self._base is None:
            if self._explicit is not None:
                self._base = self._explicit / worker_id()
                self._base.mkdir(parents=True, exist_ok=True)
            else:
                self._base = Path(tempfile.mkdtemp(prefix=f"pytest-amlemu-{worker_id()}-"))
        return self._base

    @property
    def explicit(self) -> bool:
        return self._explicit is not None

    def new(self, label: str) -> Path:
        """A new, empty root whose name starts with ``label`` (made filesystem-safe)."""
        prefix = _UNSAFE.sub("_", label)[:60] + "-"
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.base))

    def close(self) -> None:
        """Remove the private base (never a user's ``--aml-root``, nor with ``--aml-keep``)."""
        if self._base is not None and self._explicit is None and not self._keep:
            shutil.rmtree(self._base, ignore_errors=True)


def create_workspace(root: Path, name: str = "test-workspace") -> Workspace:
    """A new workspace in ``root`` (the root is read when the workspace is made)."""
    with scoped_environ({ROOT_ENV: str(root)}):
        return Workspace.create(
            name=name,
            subscription_id=SUBSCRIPTION_ID,
            resource_group=RESOURCE_GROUP,
            show_output=False,
        )

"""Portal tests: one world per test module (its own emulator root), read by every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from portal_world import World, portal_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("portal-root")
    workdir = tmp_path_factory.mktemp("portal-work")
    with portal_world(root, workdir) as built:
        yield built

"""Where the deployment assets are, and loading a helper script from ``fixtures/`` by path.

A module of its own (not ``conftest``) so test files anywhere can import it unambiguously.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "fixtures"


def load_asset_module(relative: str) -> ModuleType:
    """Import a helper script from ``fixtures/`` by path (it is not an installed package)."""
    path = ASSETS / relative
    spec = importlib.util.spec_from_file_location(f"amlemu_asset_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Plugin tests run inner pytest sessions with ``pytester``.

``pytest_plugins = ["pytester"]`` is refused in a conftest below the rootdir when the whole
suite runs (pytest: "non-top-level conftest"), so the plugin is registered when this conftest
is: ``pytest_configure`` is a historic hook, called for late plugins too.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")

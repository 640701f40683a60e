"""Run inside the scoring environment: which modules resolve there, which versions are installed.

``python -m emulator.validation.envprobe`` reads ``{"modules": [...], "distributions": [...]}``
on stdin and prints the answer as JSON. It prepares imports exactly as a scoring worker does
(the ``azureml`` shim, azmlinfsrv's aliases, the app root and source directory on
``sys.path``), so a module resolves here if and only if the entry script could import it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import sys

from emulator.server.config import ServerConfig
from emulator.server.worker import _prepare_imports


def main() -> int:
    request = json.load(sys.stdin)
    _prepare_imports(ServerConfig.from_env(os.environ))
    modules = {}
    for name in request["modules"]:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = None
        if spec is not None:
            locations = list(spec.submodule_search_locations or [])
            origin = spec.origin if spec.origin not in (None, "namespace") else None
            origin = origin or (locations[0] if locations else None)
        modules[name] = {"found": spec is not None, "origin": origin}
    versions: dict[str, str | None] = {}
    for distribution in request["distributions"]:
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[distribution] = None
    json.dump(
        {"modules": modules, "versions": versions, "python": sys.version.split()[0]}, sys.stdout
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

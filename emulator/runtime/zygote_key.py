"""Which replicas may share a zygote: the key, and the rule for environment variables.

A zygote (:mod:`emulator.runtime.zygote`) imports packages once for many replicas, so a
replica may only be forked from one that imported them under the same conditions. The key is
the interpreter, the script's candidates and the *import-relevant* environment; this module
is the last part, kept apart because it is a rule of its own (what may differ between
replicas without changing what an import did) rather than process management.

Every variable counts as import-relevant (``OMP_NUM_THREADS``, ``PYTHONHASHSEED``, ``LD_*``,
the user's ``environment_variables``, ...) except the ones Azure and the emulator set per
replica, which only the server and the user's code read at run time: ``AZUREML_*``, ``AML_*``,
``AMLEMU_*`` (labels), the scoring server's settings (``SERVER_PORT``, ``WORKER_COUNT``,
``SCORING_TIMEOUT_MS``, ...) and pytest's per-test ``PYTEST_*``. So a deployment that sets
``OMP_NUM_THREADS=1`` gets a zygote that imported its packages under ``OMP_NUM_THREADS=1``:
the variables take effect exactly as in a fresh process, and no warm start ever runs under a
variable that differs from what its imports saw. The replica's whole environment (the
per-replica variables too) is set before the server starts.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from emulator.server import config as server_config

_NEUTRAL_PREFIXES = ("AZUREML_", "AML_", "AMLEMU_", "PYTEST_")
_NEUTRAL = frozenset(server_config.PER_REPLICA)


def import_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables of a replica that its zygote must have been started with (see above)."""
    return {
        key: value
        for key, value in environment.items()
        if key not in _NEUTRAL and not key.startswith(_NEUTRAL_PREFIXES)
    }


def key_environment(environment: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The import-relevant variables as a zygote's key: ``PYTHONPATH`` entries that are an
    image's copy of the emulator (every image has its own) count by their content, so images of
    one environment share a zygote (a replica's ``sys.path`` then lists its own copy)."""
    wanted = import_environment(environment)
    if "PYTHONPATH" in wanted:
        entries = wanted["PYTHONPATH"].split(os.pathsep)
        wanted["PYTHONPATH"] = os.pathsep.join(_tree_identity(entry) for entry in entries)
    return tuple(sorted(wanted.items()))


@functools.lru_cache(maxsize=256)
def _tree_identity(entry: str) -> str:
    """``entry``, or for an image's python tree (written once at build, never changed) a hash
    of its files' names and contents (a few hundred small files, read once per tree)."""
    tree = Path(entry)
    if not (tree / "emulator" / "__init__.py").is_file():
        return entry
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".pyc"):
                continue
            path = Path(folder, name)
            digest.update(f"{path.relative_to(tree)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"<python tree {digest.hexdigest()[:16]}>"

"""The interpreter an image is built with: the python its conda spec asks for, when possible.

Azure's image runs the ``python=3.x`` of the environment's conda spec. Here that python is used
when it is installed on this machine (uv finds it, else ``python3.x`` on ``PATH``) and the
emulator's server supports it; otherwise the image runs on the emulator's own interpreter and
the build log says so, naming both versions, because packages pinned for the other python may
then be missing or behave differently. uv is never allowed to download a Python.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

from emulator.images.buildlog import BuildLog
from emulator.images.compat import DISTRIBUTION

_MAJOR_MINOR = re.compile(r"^\s*(\d+)\.(\d+)")
_QUERY_TIMEOUT_S = 60
_VERSION_CODE = "import sys; print('%d.%d' % sys.version_info[:2])"


@dataclass(frozen=True)
class Interpreter:
    """A python on this machine and its ``major.minor``."""

    path: Path
    version: tuple[int, int]

    @property
    def label(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def running_interpreter() -> Interpreter:
    """The interpreter the emulator runs on."""
    return Interpreter(Path(sys.executable).absolute(), sys.version_info[:2])


def requested_version(python_version: str | None) -> tuple[int, int] | None:
    """``major.minor`` of a conda spec's python (``3.8``, ``3.8.10``, ``3.8.*``), if any."""
    match = _MAJOR_MINOR.match(python_version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def choose_interpreter(python_version: str | None, uv: str | None, log: BuildLog) -> Interpreter:
    """The interpreter of a virtualenv for an environment asking for ``python_version``."""
    running = running_interpreter()
    wanted = requested_version(python_version)
    if wanted is None or wanted == running.version:
        return running
    label = f"{wanted[0]}.{wanted[1]}"
    found = find_installed(wanted, uv) if emulator_supports(wanted) else None
    if found is not None:
        log.write(f"Building with python {label} ({found.path}), as the environment asks")
        return found
    if not emulator_supports(wanted):
        reason = (
            f"the emulator's scoring server (in every image) needs python "
            f"{_emulator_requires_python()}"
        )
    else:
        reason = (
            f"no python {label} was found on this machine (`uv python find {label}`, "
            f"`python{label}` on PATH); install one (e.g. `uv python install {label}` or your "
            "system's package manager) to build with it"
        )
    log.write(
        f"WARNING: the environment asks for python {python_version}; {reason}. The image runs "
        f"on this machine's python {running.label} ({running.path})."
    )
    return running


def warn_on_host_mismatch(python_version: str | None, log: BuildLog) -> None:
    """Host mode runs on this interpreter whatever the environment asks for: say so."""
    running = running_interpreter()
    wanted = requested_version(python_version)
    if wanted is not None and wanted != running.version:
        log.write(
            f"WARNING: the environment asks for python {python_version}; the image runs on "
            f"this machine's python {running.label} ({running.path})."
        )


def find_installed(version: tuple[int, int], uv: str | None) -> Interpreter | None:
    """An installed python of ``version``: uv's discovery first, then ``python3.x`` on PATH.

    Each candidate is asked for its version: a pyenv shim on PATH exists but may fail to run.
    """
    label = f"{version[0]}.{version[1]}"
    candidates = []
    if uv is not None:
        try:
            found = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", "--no-project", label],
                capture_output=True,
                text=True,
                env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
                timeout=_QUERY_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip().splitlines()[-1])
    on_path = shutil.which(f"python{label}")
    if on_path is not None:
        candidates.append(on_path)
    for candidate in candidates:
        if _version_of(candidate) == version:
            return Interpreter(Path(candidate).absolute(), version)
    return None


def emulator_supports(version: tuple[int, int]) -> bool:
    """Whether the emulator's own code (the scoring server in the image) runs on ``version``."""
    requires = _emulator_requires_python()
    return not requires or SpecifierSet(requires).contains(f"{version[0]}.{version[1]}")


def _emulator_requires_python() -> str:
    try:
        return importlib.metadata.metadata(DISTRIBUTION)["Requires-Python"] or ""
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return ""


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [python, "-E", "-s", "-c", _VERSION_CODE],  # not -I: python 2 lacks it
            capture_output=True,
            text=True,
            timeout=_QUERY_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return requested_version(done.stdout) if done.returncode == 0 else None

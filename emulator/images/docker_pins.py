"""Exact pins in Docker builds: what the local builder does (pins.py), for the image's python.

A Docker image installs its requirements with the base image's python, which need not be the
one running the emulator. So the python is asked of the base image itself, and the package
index is asked (from this machine, with its uv or pip) which versions have a build for that
python. With ``AZUREML_EMULATOR_PINS=nearest`` the pins without one are replaced in the
context's ``requirements.txt`` before ``docker build``; by default they are installed as
written and, when the install step fails, the failure names them and their nearest versions.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext
from emulator.images.installer import Installer
from emulator.images.pins import BuildProbe, diagnose, replace_pins
from emulator.settings import PINS_ENV

#: The Dockerfile step that installs the user's requirements (dockerfile.py).
REQUIREMENTS_STEP = "/tmp/amlemu/requirements.txt"
_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"
_PROBE_TIMEOUT_S = 120


def image_python(client: Any, base_image: str, log: BuildLog | None = None) -> str:
    """``major.minor`` of ``python3`` in ``base_image`` (a container run without network)."""
    created = client.create_container(
        base_image, command=["python3", "-c", _VERSION], network_disabled=True
    )
    ident = created["Id"]
    try:
        client.start(ident)
        code = client.wait(ident, timeout=_PROBE_TIMEOUT_S).get("StatusCode")
        output = client.logs(ident, stdout=True, stderr=True).decode(errors="replace").strip()
    finally:
        client.remove_container(ident, force=True)
    if code != 0:
        raise BuildFailed(
            "Resolve pins",
            f"python3 of the base image {base_image} did not run (exit code {code}): "
            f"{output}\nThe base image must carry python3 (scripts/setup-docker.sh builds one).",
        )
    python = output.splitlines()[-1]
    if log is not None:
        log.write(f"The image installs its requirements with python {python} ({base_image})")
    return python


def replace_in_context(client: Any, context: BuildContext, log: BuildLog) -> tuple[str, ...]:
    """``nearest``: rewrite the context's requirements with each pin lacking a build for the
    image's python replaced (one build-log line each); the replacements."""
    lines = list(context.resolved.pip)
    with log.step("Resolve pins"):
        python = image_python(client, context.base_image, log)
        log.write(f"Exact pins without a build for python {python}: nearest ({PINS_ENV})")
        with tempfile.TemporaryDirectory(prefix="amlemu-pins-") as workdir:
            probe = _probe(context, log, python, workdir)
            replaced, replacements = replace_pins(lines, probe, python)
        for line in replacements:
            log.write(f"Pin replaced: {line}")
        if not replacements:
            log.write(f"Every exact pin has a build for python {python}")
            return ()
    changed = dict(zip(lines, replaced, strict=True))
    original = context.requirements_file.read_text().splitlines()
    context.requirements_file.write_text("".join(f"{changed.get(x, x)}\n" for x in original))
    return tuple(replacements)


def explain_failure(
    failure: BuildFailed, client: Any, context: BuildContext, log: BuildLog
) -> BuildFailed:
    """``failure`` of ``docker build``, with the pins that have no build for the image's python
    and their nearest versions when that is why the requirements step failed."""
    step = failure.message.split("\n", 1)[0]
    if "RUN " not in step or REQUIREMENTS_STEP not in step or not context.resolved.pip:
        return failure
    with tempfile.TemporaryDirectory(prefix="amlemu-pins-") as workdir:
        try:
            python = image_python(client, context.base_image, log)
            why = diagnose(context.resolved.pip, _probe(context, log, python, workdir), python)
        except Exception:  # no diagnosis: pip's own error, in the failure, is the whole story
            return failure
    if why is None:
        return failure
    return BuildFailed(failure.step, f"{failure.message}\n{why}")


def _probe(context: BuildContext, log: BuildLog, python: str, workdir: str) -> BuildProbe:
    """This machine's uv (else pip) asking the environment's index about ``python``."""
    installer = Installer(Path(sys.executable), log, shutil.which("uv"))
    return BuildProbe(installer, context.resolved.pip_options, Path(workdir), python_version=python)

"""An environment's packages named by URL, resolved offline: the private wheels of the workspace.

``Environment.add_private_pip_wheel`` returns a URL in the workspace's storage account and users
list it in the environment's pip dependencies; Azure's build downloads it. Here the build copies
the stored file into the context (``environment/wheels/``, beside ``requirements.txt``) and
installs it from there: the line becomes ``<name>===<version>`` (arbitrary equality: exactly the
stored file's version, never a PyPI release of the same name, and no pin replacement applies)
and ``--find-links wheels``, which pip and uv both resolve relative to the requirements file, so
the local builder's ``<context>/environment/requirements.txt`` and the Docker build's
``/tmp/amlemu/requirements.txt`` (the wheels copied next to it) read the same text. A comment line
per wheel records its URL and content digest, so the local builder's cached environments
(keyed by that text) tell two wheels of one name apart.

A URL that is not a stored private wheel cannot be fetched offline: it is refused before any
slow step, naming the fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from emulator.assets.private_wheels import PrivateWheels, is_private_wheel_url
from emulator.environments.requirements import ResolvedRequirements
from emulator.store.blobs import BlobStore
from emulator.store.root import EmulatorRoot

#: The context's folder of fetched packages, relative to ``requirements.txt``.
WHEELS = "wheels"


def fetch_private_wheels(
    resolved: ResolvedRequirements, environment_dir: Path, blobs: BlobStore
) -> list[str]:
    """Copy the stored packages ``resolved.urls`` name into ``environment_dir/wheels`` and
    install them by name from there; the comment lines recording each one's origin.

    ``blobs`` is the root's blob store: the root is the folder holding it (``EmulatorRoot``).
    """
    if not resolved.urls:
        return []
    wheels = PrivateWheels(EmulatorRoot(blobs.root.parent))
    comments = []
    for url in resolved.urls:
        stored = wheels.fetch(url) if is_private_wheel_url(url) else None
        if stored is None:
            resolved.unavailable.append((url, _unavailable(url)))
            continue
        try:
            name, version = _name_and_version(stored.name)
        except (InvalidWheelFilename, InvalidSdistFilename) as exc:
            resolved.unavailable.append(
                (url, f"is not a wheel or source archive pip can install ({exc})")
            )
            continue
        target = environment_dir / WHEELS / stored.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored.path, target)
        resolved.pip.append(f"{name}==={version}")
        comments.append(f"# {name}==={version}: {url} (sha256 {stored.digest})")
    if comments:
        resolved.pip_options.append(f"--find-links {WHEELS}")
    return comments


def _name_and_version(filename: str) -> tuple[str, str]:
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
    else:
        name, version = parse_sdist_filename(filename)
    return str(name), str(version)


def _unavailable(url: str) -> str:
    if is_private_wheel_url(url):
        return (
            "names a private wheel that no workspace of this emulator root stored; add the "
            "file with Environment.add_private_pip_wheel(ws, path) and list the URL it returns"
        )
    return (
        "is a URL, which the emulator cannot download offline; add the package with "
        "Environment.add_private_pip_wheel(ws, path) and list the URL it returns, or name it "
        "by its PyPI name"
    )

"""A container's filesystem as the host sees it: Docker bind mounts honoured without Docker.

azure-ai-ml mounts the deployment's model and code into the container and tells the scoring
server where, in container paths (``azure/ai/ml/_local_endpoints/azureml_image_context.py``)::

    binds:  <model dir>:/var/azureml-app/azureml-models/<name>/<version>:z
            <code dir>:/var/azureml-app/<code dir name>/
    env:    AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/<name>/<version>
            AML_APP_ROOT=/var/azureml-app/<code dir name>/  AZUREML_ENTRY_SCRIPT=score.py

A replica here is a process on the host, so :class:`ContainerView` translates: a variable whose
value is a container path under a bind's destination becomes the same path under the bind's
source (the longest destination wins, as the innermost mount shadows the others), and one under
the image's WORKDIR becomes the image's app directory. The bound directories are used in place,
as Docker's binds are (edits show at once); ``ro`` cannot be enforced on a process and is
recorded only.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from emulator.exceptions import BadArgument

#: Bind options Docker accepts (SELinux labels, propagation, read-only/read-write, copy mode).
_OPTIONS = {
    "z",
    "Z",
    "ro",
    "rw",
    "shared",
    "slave",
    "private",
    "rshared",
    "rslave",
    "rprivate",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
}


@dataclass(frozen=True)
class Bind:
    """One ``HostConfig.Binds`` entry: ``source:destination[:options]``."""

    source: Path
    destination: str
    options: tuple[str, ...] = ()

    @property
    def read_only(self) -> bool:
        return "ro" in self.options

    @property
    def spec(self) -> str:
        """The entry as given (``docker inspect`` shows it so)."""
        tail = f":{','.join(self.options)}" if self.options else ""
        return f"{self.source}:{self.destination}{tail}"


def parse_bind(entry: str) -> Bind:
    """One Binds entry; 400 with Docker's text when it is malformed, and when its source is
    missing (Docker would create an empty directory, hiding a wrong path)."""
    parts = entry.split(":")
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise BadArgument(f"invalid volume specification: '{entry}'")
    source, destination = parts[0], parts[1]
    options = tuple(o for o in (parts[2].split(",") if len(parts) == 3 else []) if o)
    if not source.startswith("/"):
        raise BadArgument(
            f"invalid volume specification: '{entry}' [emulator] Named volumes are not "
            "supported; bind an absolute host path."
        )
    if not destination.startswith("/"):
        raise BadArgument(
            f"invalid volume specification: '{entry}': invalid mount config for type \"bind\": "
            f"invalid mount path: '{destination}' mount path must be absolute"
        )
    unknown = [o for o in options if o not in _OPTIONS]
    if unknown:
        raise BadArgument(f"invalid mode: {','.join(unknown)}")
    if not Path(source).exists():
        raise BadArgument(
            f'invalid mount config for type "bind": bind source path does not exist: {source}'
        )
    return Bind(Path(source), posixpath.normpath(destination), options)


class ContainerView:
    """Maps container paths to host paths for one container (see the module docstring)."""

    def __init__(self, binds: list[Bind], workdir: str, image_app: Path) -> None:
        self.binds = sorted(binds, key=lambda b: len(b.destination), reverse=True)
        self.workdir = posixpath.normpath(workdir)
        self.image_app = image_app

    def host_path(self, path: str) -> str | None:
        """The host path for the absolute container ``path``, or None when nothing of the
        host backs it (the image's own system directories)."""
        if not path.startswith("/"):
            return None
        trailing = "/" if path.endswith("/") and path != "/" else ""
        normal = posixpath.normpath(path)
        mounts = [(b.destination, b.source) for b in self.binds]
        if self.workdir != "/":
            mounts.append((self.workdir, self.image_app))
        for destination, source in mounts:
            if normal == destination:
                return f"{source}{trailing}"
            if normal.startswith(destination.rstrip("/") + "/"):
                inside = normal[len(destination.rstrip("/")) + 1 :]
                return f"{source / inside}{trailing}"
        return None

    def translate(self, environment: Mapping[str, str]) -> dict[str, str]:
        """The variables with every container path the host backs made a host path."""
        return {
            name: (self.host_path(value) or value) if value.startswith("/") else value
            for name, value in environment.items()
        }

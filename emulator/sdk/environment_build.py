"""An environment's own image: ``Environment.build``, ``build_local`` and ``get_image_details``.

Azure builds a registered environment's image in the workspace's container registry, keyed by
the environment's content (two versions with the same definition share one image), and answers
with an ``ImageBuildDetails`` (status, log, ``wait_for_completion``) or a ``DockerImageDetails``
dict (``imageExistsInRegistry``, ``dockerImage``, ``pythonEnvironment``, ``ingredients``). Here
the emulator's image builders (``emulator/images/``) build it on this machine, into the
workspace's image registry: an image named after the environment's hash, reused while it
exists. The image holds the environment and no scoring script, as Azure's environment images.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from emulator._version import __version__
from emulator.environments.environment import Environment
from emulator.environments.hashing import environment_hash
from emulator.images.build import log_path, start_build, wait_for_build
from emulator.images.builders.base import Builder
from emulator.images.builders.local import IMAGE_FILE, load_local_image
from emulator.images.builders.select import select_builder
from emulator.images.context import ImageRequest
from emulator.images.dockerfile import VENV
from emulator.images.records import CreationState, ImageRecord
from emulator.sdk.exceptions import UserErrorException
from emulator.state import WorkspaceState

logger = logging.getLogger("emulator.environment")

#: The image property that names the environment hash an image was built from.
HASH_PROPERTY = "azureml.environmentHash"
#: ... and the emulator version that built it (its python tree is in the image).
VERSION_PROPERTY = "amlemu.version"
PLATFORMS = ("Linux", "Windows", "OSX")
#: The image flavor of environment images (``Image.list`` leaves them out, as Azure does).
ENVIRONMENT_FLAVOR = "EnvironmentImage"
_ENTRY = "environment_image.py"
_ENTRY_TEXT = '"""An environment image: Azure builds these without a scoring script."""\n'
#: Azure's build statuses for the image registry's states.
_STATUS = {CreationState.NOT_STARTED: "Queued"}


def image_name(digest: str) -> str:
    """The image registry's name for an environment hash (32 characters, the registry's limit)."""
    return f"azureml-{digest[:24]}"


def _usable(record: ImageRecord) -> bool:
    """A build that is going on, or one that succeeded and whose image is still there."""
    if record.properties.get(VERSION_PROPERTY) != __version__:
        return False
    if record.state is CreationState.SUCCEEDED:
        return bool(record.location) and (
            record.builder == "docker" or Path(str(record.location)).exists()
        )
    return not record.state.terminal


def find_image(state: WorkspaceState, digest: str, builder: str | None) -> ImageRecord | None:
    """The newest usable image of ``digest`` (by ``builder`` when given)."""
    for record in reversed(state.images.records(image_name(digest))):
        if (builder is None or record.builder == builder) and _usable(record):
            return record
    return None


def start_environment_build(
    state: WorkspaceState, environment: Environment, builder: Builder, compute: str | None
) -> ImageRecord:
    """The image of ``environment`` by ``builder``: the existing one, else a build started."""
    digest = environment_hash(environment)
    existing = find_image(state, digest, builder.name)
    if existing is not None:
        return existing
    properties = {
        HASH_PROPERTY: digest,
        VERSION_PROPERTY: __version__,
        "azureml.environment": f"{environment.name}:{environment.version}",
    }
    if compute:
        properties["azureml.imageBuildCompute"] = compute
    record = state.images.create(
        image_name(digest),
        builder=builder.name,
        flavor=ENVIRONMENT_FLAVOR,
        description=f"Image of environment {environment.name} version {environment.version}",
        properties=properties,
        entry_script=_ENTRY,
    )
    entry = Path(record.directory) / _ENTRY
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(_ENTRY_TEXT, encoding="utf-8")
    request = ImageRequest(entry_script=entry, environment=environment)
    return start_build(state.images, record, request, builder, state.root.blobs)


class ImageBuildDetails:
    """What ``Environment.build`` returns: the build's status and log, and a wait."""

    def __init__(self, environment_client: Any, location: str) -> None:
        """``environment_client``: the workspace's environment store (it has ``state``);
        ``location``: the image being built, ``<name>:<version>`` (Azure: the build's
        operation URL)."""
        self.environment_client = environment_client
        self._location = location
        self._state: WorkspaceState = environment_client.state
        name, _, version = location.rpartition(":")
        record = self._state.images.get(name, int(version))
        if record is None:
            raise UserErrorException(f"No image build {location!r} in this workspace.")
        self._record = record
        #: Where the build log is (Azure: a SAS URL; here the log file's ``file:`` URI).
        self.log_url: str | None = log_path(record).absolute().as_uri()

    def _current(self) -> ImageRecord:
        found = self._state.images.get(self._record.name, self._record.version)
        self._record = found or self._record
        return self._record

    @property
    def status(self) -> str:
        """Azure's build status: ``Queued``, ``Running``, ``Succeeded`` or ``Failed``."""
        state = self._current().state
        return _STATUS.get(state, state.value)

    def get_log(self) -> str | None:
        """The build log so far (``None`` before the build wrote any)."""
        path = log_path(self._record)
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None

    def wait_for_completion(self, show_output: bool = True) -> ImageBuildDetails:
        """Block until the build ends; ``show_output`` streams the log, then the status. A
        failed build is not raised (as in the SDK): read ``status`` and ``get_log()``."""
        printer = (lambda line: print(line, flush=True)) if show_output else None
        self._record = wait_for_build(self._state.images, self._record, printer)
        if show_output:
            print(f"Image Build Status: {self.status}\n")
        return self

    def __repr__(self) -> str:
        return f"ImageBuildDetails(image={self._record.image_id!r}, status={self.status!r})"


class DockerImageDetails(dict[str, Any]):
    """What ``Environment.get_image_details`` returns: Azure's image-details dict, read through
    the SDK's properties."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's constructor (any arguments ``dict`` takes), declared on the class as the SDK
        declares it: without it ``scripts/api_diff.py`` finds no ``__init__`` of its own here."""
        super().__init__(*args, **kwargs)

    @property
    def image_exist(self) -> bool:
        """Whether the environment's image is built (Azure: present in the workspace's registry)."""
        return bool(self.get("imageExistsInRegistry"))

    @property
    def repository(self) -> str:
        """The image's name without the registry (``azureml/azureml_<hash>``)."""
        return str(self["dockerImage"]["name"])

    @property
    def registry(self) -> str | None:
        """The registry's address; ``None`` here (images stay in the emulator's own store)."""
        address: str | None = self["dockerImage"]["registry"]["address"]
        return address

    @property
    def image(self) -> str:
        """The fully qualified name: the registry's address (when there is one) and repository."""
        return self.repository if self.registry is None else f"{self.registry}/{self.repository}"

    @property
    def interpreter_path(self) -> str | None:
        """The interpreter the image's replicas run (``python`` before the image is built)."""
        path: str | None = self["pythonEnvironment"]["interpreterPath"]
        return path

    @property
    def environment_path(self) -> str | None:
        """The image's Python environment (Azure: its conda environment); ``None`` without one."""
        path: str | None = self["pythonEnvironment"]["condaEnvironmentPath"]
        return path

    @property
    def dockerfile(self) -> str | None:
        """The Dockerfile generated for the image's build, ``None`` before one was written."""
        ingredients = self.get("ingredients")
        return ingredients.get("dockerfile") if ingredients else None


def _python_of(record: ImageRecord | None) -> tuple[str, str | None]:
    """The image's interpreter and its environment's directory (Azure: the conda env's)."""
    if record is None or record.state is not CreationState.SUCCEEDED:
        return "python", None
    if record.builder == "docker":
        return f"{VENV}/bin/python", VENV
    location = Path(str(record.location))
    if not (location / IMAGE_FILE).exists():
        return "python", None
    python = load_local_image(location).python
    venv = python.parent.parent
    return str(python), str(venv) if (venv / "pyvenv.cfg").exists() else None


def image_details(state: WorkspaceState, environment: Environment) -> DockerImageDetails:
    """Azure's image-details dict of a registered environment version."""
    digest = environment_hash(environment)
    record = find_image(state, digest, select_builder(state.root).name) or find_image(
        state, digest, None
    )
    built = record is not None and record.state is CreationState.SUCCEEDED
    interpreter, env_path = _python_of(record)
    dockerfile = None
    if record is not None:
        generated = Path(record.directory) / "context" / "Dockerfile"
        dockerfile = generated.read_text(encoding="utf-8") if generated.exists() else None
    return DockerImageDetails(
        {
            "imageExistsInRegistry": built,
            "dockerImage": {
                "name": f"azureml/azureml_{digest[:32]}",
                # No container registry offline: the image is in the emulator's image registry.
                "registry": {"address": None, "username": None, "password": None},
            },
            "pythonEnvironment": {
                "interpreterPath": interpreter,
                "condaEnvironmentPath": env_path,
            },
            "ingredients": {
                "dockerfile": dockerfile,
                "condaSpecification": (
                    None
                    if environment.python.user_managed_dependencies
                    else environment.python.conda_dependencies.serialize_to_string()
                ),
            },
            "imageLocation": record.location if built and record is not None else None,
        }
    )


def build_here(
    state: WorkspaceState, environment: Environment, platform: str | None, options: dict[str, Any]
) -> None:
    """``build_local``: build the environment's image on this machine now, streaming the log;
    ``useDocker`` picks Docker, else the local builder (a virtualenv, or the host interpreter
    with ``AZUREML_EMULATOR_BUILDER=host``; Azure: a local conda environment)."""
    platform = platform or ("Windows" if sys.platform == "win32" else "Linux")
    if platform not in PLATFORMS:
        raise UserErrorException(
            f"Unsupported platform {platform!r} for build_local. "
            f"Use one of: {', '.join(PLATFORMS)}."
        )
    use_docker = bool(options.pop("useDocker", environment.docker.enabled))
    if options.pop("pushImageToWorkspaceAcr", False):
        logger.warning(
            "pushImageToWorkspaceAcr: there is no container registry offline; "
            "the image stays in the emulator's image registry."
        )
    if options:
        raise UserErrorException(
            f"Unknown build_local option(s): {', '.join(sorted(options))}. "
            "The SDK's options are useDocker and pushImageToWorkspaceAcr."
        )
    configured = select_builder(state.root)
    if use_docker:
        builder = (
            configured if configured.name == "docker" else select_builder(state.root, "docker")
        )
    else:  # a local build: the configured local builder (venv or host), else a virtualenv
        builder = configured if configured.name == "local" else select_builder(state.root, "local")
    record = start_environment_build(state, environment, builder, None)
    print(f"Building environment {environment.name} version {environment.version} locally")
    record = wait_for_build(state.images, record, lambda line: print(line, flush=True))
    if record.state is not CreationState.SUCCEEDED:
        error = record.error or {}
        raise UserErrorException(
            "Building environment failed: "
            f"{error.get('message', 'see the build log')}\nBuild log: {log_path(record)}"
        )

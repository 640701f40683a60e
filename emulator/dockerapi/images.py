"""Images of the emulator's Docker API: a Dockerfile's environment built by the local builder.

``docker build`` of a local endpoint's context becomes the emulator's own image build: the
Dockerfile is read into a plan (:mod:`emulator.dockerapi.dockerfile`), the conda file it hands
to ``conda env create`` (plus any ``pip install`` lines) becomes an
:class:`~emulator.environments.environment.Environment`, and the local builder makes its
virtualenv (cached under ``<root>/envs``, shared with every other build of the root) — Azure's
base image is not pulled; the FROM line is recorded. The image carries the environment and the
files the Dockerfile copied into its WORKDIR; the scoring script and the model are not in it:
azure-ai-ml mounts them into the container (:mod:`emulator.dockerapi.mounts`).

Images live in the serving process (the daemon, or the ``amlemu run`` / ``activate()``
session), as Docker's live in its engine; their directories are under ``<root>/dockerapi``.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from emulator.dockerapi.dockerfile import BuildPlan, parse_dockerfile
from emulator.environments.environment import Environment
from emulator.exceptions import BadArgument, NotFound
from emulator.images.builders.local import LocalBuilder
from emulator.images.buildlog import BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.settings import builder_name
from emulator.store.root import EmulatorRoot

#: The port Azure's inference images expose; azure-ai-ml reads the scoring port under it.
SCORING_PORT = "5001/tcp"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HOST = re.compile(r"[a-zA-Z0-9.-]+(?::[0-9]+)?")


@dataclass(frozen=True)
class DockerImage:
    """A built image: its id (``sha256:...``), tags, where the local image lies, its config."""

    id: str
    location: str
    created: str
    plan: BuildPlan
    tags: tuple[str, ...] = field(default=())

    @property
    def exposed(self) -> list[str]:
        return sorted({SCORING_PORT, *self.plan.exposed})


def normalize_reference(reference: str) -> str:
    """``name[:tag]`` as Docker stores it (``:latest`` by default); 400 with Docker's text when
    it is not a valid reference."""
    name, tag = reference, "latest"
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = reference.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and _HOST.fullmatch(parts[0]) and ("." in parts[0] or ":" in parts[0]):
        parts = parts[1:]
    if name.lower() != name and all(_COMPONENT.fullmatch(p.lower()) for p in parts):
        raise BadArgument(
            f"invalid reference format: repository name ({name}) must be lowercase "
            "[emulator] (Docker's rule; azure-ai-ml tags local images <endpoint>:<deployment>, "
            "so use a lowercase endpoint name)."
        )
    if not parts or not all(_COMPONENT.fullmatch(p) for p in parts) or not _TAG.fullmatch(tag):
        raise BadArgument(f"invalid reference format: {reference!r}")
    return f"{name}:{tag}"


class ImageStore:
    """The images one Docker API server built (see the module docstring); thread-safe."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.root = root
        self.directory = root.path / "dockerapi" / "images"
        self._images: dict[str, DockerImage] = {}
        self._tags: dict[str, str] = {}
        self._lock = threading.Lock()

    def build(
        self,
        context: Path,
        files: set[str],
        dockerfile: str,
        tags: list[str],
        say: Callable[[str], None],
    ) -> DockerImage:
        """Build the unpacked ``context`` (its ``files``) by ``dockerfile`` (a context-relative
        path) and tag it; ``say`` receives the build log's lines as they are written. Raises
        :class:`~emulator.images.buildlog.BuildFailed` or ``BadArgument``."""
        references = [normalize_reference(tag) for tag in tags]
        name = posixpath.normpath(dockerfile or "Dockerfile")
        if name not in files:
            raise BadArgument(
                f"Cannot locate specified Dockerfile: {name} (it is not in the build context)."
            )
        text = (context / name).read_text(encoding="utf-8")
        plan = parse_dockerfile(text, files)
        conda = (context / plan.conda_file).read_text(encoding="utf-8") if plan.conda_file else ""
        mode = "host" if builder_name() == "host" else "venv"
        image_id = "sha256:" + _digest(context, [text, conda, plan.pip, mode], plan)
        with self._lock:
            cached = self._images.get(image_id)
        if cached is not None:
            say(f"Using the image built before from the same Dockerfile and conda file ({mode})")
            return self._tag(cached, references)
        if builder_name() == "docker":
            say(
                "AZUREML_EMULATOR_BUILDER=docker: local endpoints are built by the local "
                "builder (this Docker API is the emulator's own)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{image_id[7:19]}-", dir=self.directory))
        try:
            location = self._build(context, plan, work, references, mode, say)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        created = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        return self._tag(DockerImage(image_id, location, created, plan), references)

    def _build(
        self,
        context: Path,
        plan: BuildPlan,
        work: Path,
        references: list[str],
        mode: str,
        say: Callable[[str], None],
    ) -> str:
        log = BuildLog(work / "build.log", listener=say)
        log.header(f"Building {', '.join(references) or 'an untagged image'} ({mode} builder)")
        log.write(f"FROM {plan.base_image}: Azure's base image is not pulled offline")
        app = work / "app"  # what the Dockerfile copied into its WORKDIR
        app.mkdir()
        for destination, source in plan.copies.items():
            inside = posixpath.relpath(destination, plan.workdir)
            if inside.startswith(".."):
                log.write(f"COPY {source} {destination}: outside WORKDIR, not in the image")
                continue
            target = app / inside if inside != "." else app
            if (context / source).is_dir():
                shutil.copytree(context / source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(context / source, target)
        environment = _environment(plan, context, references)
        # The scoring script is not in the image (the container names it, from a mount);
        # the context's entry script is only the default the container's variable replaces.
        request = ImageRequest(
            entry_script=app / "score.py", environment=environment, source_directory=app
        )
        built = write_context(request, work / "context", self.root.blobs)
        builder = LocalBuilder(self.root, mode)
        return builder.build(built, log, work / "image", references[0] if references else "")

    def _tag(self, image: DockerImage, references: list[str]) -> DockerImage:
        """Point ``references`` at ``image`` (an image they named before loses them)."""
        with self._lock:
            for reference in references:
                self._tags[reference] = image.id
            image = DockerImage(
                image.id,
                image.location,
                image.created,
                image.plan,
                tuple(sorted(t for t, i in self._tags.items() if i == image.id)),
            )
            self._images[image.id] = image
            return image

    def close(self) -> None:
        """Remove every image's directory (the server is going away, its containers first)."""
        with self._lock:
            images, self._images, self._tags = list(self._images.values()), {}, {}
        for image in images:
            shutil.rmtree(Path(image.location).parent, ignore_errors=True)

    def get(self, reference: str) -> DockerImage:
        """By ``name[:tag]``, full id or unique id prefix; 404 ``No such image`` otherwise."""
        with self._lock:
            image_id = self._tags.get(_quiet_normalize(reference))
            if image_id is None:
                wanted = reference if reference.startswith("sha256:") else f"sha256:{reference}"
                matches = [i for i in self._images if i.startswith(wanted)]
                image_id = matches[0] if len(matches) == 1 and len(wanted) > 7 else None
            if image_id is None:
                raise NotFound(f"No such image: {reference}")
            image = self._images[image_id]
            tags = tuple(sorted(t for t, i in self._tags.items() if i == image_id))
        return DockerImage(image.id, image.location, image.created, image.plan, tags)


def _quiet_normalize(reference: str) -> str:
    try:
        return normalize_reference(reference)
    except BadArgument:
        return reference


def _digest(context: Path, parts: list[object], plan: BuildPlan) -> str:
    """The image id: the Dockerfile, the environment and what the Dockerfile copies, so an
    unchanged build is answered from the image built before, as Docker's cache would."""
    digest = hashlib.sha256(json.dumps(parts).encode())
    for source in sorted(set(plan.copies.values())):
        path = context / source
        for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if item.is_file():
                digest.update(f"{item.relative_to(context).as_posix()}\0".encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()


def _environment(plan: BuildPlan, context: Path, references: list[str]) -> Environment:
    """The plan's Python environment: its conda file and pip lines, variables, base image."""
    name = references[0].replace(":", "-").replace("/", "-") if references else "local-image"
    if plan.conda_file:
        environment = Environment.from_conda_specification(name, context / plan.conda_file)
    else:
        environment = Environment(name)
    environment.environment_variables = dict(plan.env)
    for package in plan.pip:
        environment.python.conda_dependencies.add_pip_package(package)
    environment.docker.base_image = plan.base_image
    return environment

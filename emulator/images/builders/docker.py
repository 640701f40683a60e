"""The Docker builder: the generated Dockerfile, built by a local Docker engine.

No registry is reachable offline, so nothing is pulled: the base image must already be in the
engine (``scripts/setup-docker.sh`` builds :data:`~emulator.images.dockerfile.LOCAL_BASE_IMAGE`).
The engine runs without a bridge network, so builds use the host's network (``network_mode``).
The ``docker`` SDK is an optional dependency (``azureml-emulator[docker]``), imported lazily.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext, check_requirements
from emulator.images.docker_pins import explain_failure, replace_in_context
from emulator.images.dockerfile import BASE_IMAGE_ENV, LOCAL_BASE_IMAGE
from emulator.settings import docker_engine_host, pins_mode

#: Label on every image this builder makes, so that a reaper can find (and remove) them.
IMAGE_LABEL = "azureml-emulator"
SETUP_HINT = "run scripts/setup-docker.sh"
#: Seconds a build may stay silent (a long ``pip install``) before the engine counts as hung.
BUILD_TIMEOUT = 3600
#: Output lines of the failing Dockerfile step kept in the error message (the log has them all).
_ERROR_TAIL_LINES = 40

_STEP_LINE = re.compile(r"^Step \d+/\d+ : ")
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = re.compile(
    rf"^{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*:[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}$"
)


def docker_available(timeout: float = 2.0) -> bool:
    """Whether the SDK is installed and the engine answers a ping within about ``timeout``."""
    try:
        client = _connect(timeout)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _connect(timeout: float) -> Any:
    """A low-level client for the engine named by ``DOCKER_HOST`` (default: the local socket).

    Creating it already asks the engine for its API version, so an absent engine fails here.
    """
    import docker

    environment = dict(os.environ)
    engine = docker_engine_host()  # DOCKER_HOST may be the emulator's own API (local=True)
    if engine is not None:
        environment["DOCKER_HOST"] = engine
    return docker.APIClient(
        version="auto", timeout=timeout, **docker.utils.kwargs_from_env(environment=environment)
    )


class DockerBuilder:
    """Builds the context's Dockerfile into a tagged image in the local Docker engine."""

    name = "docker"

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout

    def build(self, context: BuildContext, log: BuildLog, image_dir: Path, tag: str) -> str:
        """Build and tag the image; returns the tag, which is what ``docker run`` needs."""
        with log.step("Resolve requirements"):
            check_requirements(context, log)
            pins = pins_mode()
        with log.step("Connect to Docker engine"):
            client = self._client(log)
        try:
            with log.step("Check base image"):
                _check_base_image(client, context.base_image, log)
            replacements: tuple[str, ...] = ()
            if pins == "nearest" and context.resolved.pip:
                replacements = replace_in_context(client, context, log)
            with log.step("Docker build"):
                try:
                    image_id = _build(client, context, log, tag)
                except BuildFailed as failure:
                    raise explain_failure(failure, client, context, log) from failure
        finally:
            client.close()
        image_dir.mkdir(parents=True, exist_ok=True)
        record = {"tag": tag, "id": image_id, "pin_replacements": list(replacements)}
        (image_dir / "docker.json").write_text(json.dumps(record, indent=2))
        log.write(f"Docker image {tag}: {image_id}")
        return tag

    def _client(self, log: BuildLog) -> Any:
        """Connect, turning a missing SDK or an absent engine into an actionable failure."""
        try:
            import docker  # noqa: F401
        except ImportError as exc:
            raise BuildFailed(
                "Connect to Docker engine",
                "The docker builder needs the Docker SDK for Python: "
                "pip install 'azureml-emulator[docker]'.",
            ) from exc
        try:
            client = _connect(self.timeout)
        except Exception as exc:
            raise BuildFailed(
                "Connect to Docker engine",
                f"Docker engine not reachable ({exc}). Start one: {SETUP_HINT} (as root), "
                "or point DOCKER_HOST at a running engine.",
            ) from exc
        try:
            version = client.version()
        except BaseException:
            client.close()
            raise
        log.write(f"Docker engine {version.get('Version')} (API {version.get('ApiVersion')})")
        return client


def _check_base_image(client: Any, base_image: str, log: BuildLog) -> None:
    """Fail early when FROM's image is not local: offline, the engine cannot pull it."""
    import docker

    try:
        found = client.inspect_image(base_image)
    except docker.errors.ImageNotFound as exc:
        raise BuildFailed(
            "Check base image",
            f"Base image {base_image} is not in the local Docker engine, and no registry can be "
            f"reached to pull it. To build {LOCAL_BASE_IMAGE}, {SETUP_HINT}; or set "
            f"{BASE_IMAGE_ENV} to an image that exists locally.",
        ) from exc
    log.write(f"Base image {base_image}: {found.get('Id')}")


def _build(client: Any, context: BuildContext, log: BuildLog, tag: str) -> str:
    """Run the build, streaming its output into the log; returns the new image's id."""
    if not _TAG.fullmatch(tag):
        raise BuildFailed(
            "Docker build",
            f"'{tag}' is not a valid Docker image tag (lowercase <name>:<version> expected).",
        )
    chunks = client.build(
        path=str(context.root),
        tag=tag,
        network_mode="host",
        rm=True,
        forcerm=True,  # also remove the intermediate container of a failed step
        pull=False,
        decode=True,
        labels={IMAGE_LABEL: "1"},
        timeout=BUILD_TIMEOUT,
    )
    _follow(chunks, log)
    return str(client.inspect_image(tag)["Id"])


def _follow(chunks: Iterable[dict[str, Any]], log: BuildLog) -> None:
    """Log the build's output line by line; an error chunk becomes :class:`BuildFailed`.

    The message names the last ``Step N/M : ...`` line seen and ends with that step's output,
    where the tool's own error (pip's, apt's) is.
    """
    step: str | None = None
    step_output: list[str] = []
    pending = ""
    for chunk in chunks:
        if "stream" in chunk:
            pending += str(chunk["stream"])
            *lines, pending = pending.split("\n")
            for line in lines:
                log.output(line)
                if _STEP_LINE.match(line):
                    step, step_output = line.strip(), []
                else:
                    step_output.append(line)
        elif "error" in chunk or "errorDetail" in chunk:
            if pending:
                log.output(pending)
                step_output.append(pending)
            detail = chunk.get("errorDetail") or {}
            error = str(detail.get("message") or chunk.get("error") or chunk)
            tail = "\n".join(line for line in step_output[-_ERROR_TAIL_LINES:] if line.strip())
            raise BuildFailed(
                "Docker build",
                f"Dockerfile step failed: {step or '(before the first step)'}\n{error.strip()}"
                + (f"\nOutput of the step:\n{tail}" if tail else ""),
            )
        elif "status" in chunk:
            log.output(str(chunk["status"]))
    if pending:
        log.output(pending)

"""``amlemu exec SERVICE -- COMMAND...``: a command inside a service's container, seeing the
world exactly as the scoring script does.

- Process replicas (``local``/``host`` images): the command gets the running replica's own
  environment (read from ``/proc/<pid>/environ``: ``AML_APP_ROOT``, ``AZUREML_MODEL_DIR``,
  ``AZUREML_ENTRY_SCRIPT``, the ``PYTHONPATH`` that makes ``azureml.*`` importable, the
  deployment's variables), the app root as working directory, and the image's interpreter
  first on ``PATH`` (a bare ``python`` is the image's).
- Docker replicas: ``docker exec`` into the running container.

When no replica runs (a crash-looping service between restarts, a failed one), the command runs
in a fresh container of the service's image instead, as ``docker run`` would — which is how the
seed's recipe (DEBUG logging, then ``Model.get_model_path``) is used to debug ``init()``. The
exit code is the command's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.errors import WebserviceException
from emulator.images.builders.local import LocalImage, load_local_image
from emulator.images.records import CreationState, ImageRecord
from emulator.runtime.backends.base import LaunchSpec
from emulator.runtime.backends.process import container_environment, process_environment
from emulator.sdk.webservice.base import Webservice
from emulator.server.config import SERVER_PORT
from emulator.views import resources
from emulator.views.replicas import ReplicaView, pick, service_replicas

#: Exit codes of a shell (and ``docker exec``) for a command that cannot be run / is not found.
NOT_EXECUTABLE = 126
NOT_FOUND = 127
_PYTHON_NAMES = ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "exec",
        help="run a command inside a service's container (as its scoring script sees it)",
        usage="%(prog)s [-w WORKSPACE] [--replica N] SERVICE -- COMMAND [ARG ...]",
        description="Run COMMAND inside SERVICE's container: the image's interpreter and "
        "packages, the app root as working directory, the replica's environment. Put -- before "
        "the command.",
    )
    add_workspace_options(parser)
    parser.add_argument(
        "--replica", type=int, metavar="N", help="replica number (default: the first running)"
    )
    parser.add_argument("service", metavar="SERVICE", help="the service's name")
    parser.add_argument("command", nargs="+", metavar="COMMAND", help="command and arguments")
    parser.set_defaults(handler=run_exec)


def run_exec(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    service = resources.find_service(ws, args.service)
    image = _image(service)
    replicas = service_replicas(ws.emulator_state.root.path, service.emulator_record)
    replica: ReplicaView | None
    if args.replica is not None:
        replica = pick(replicas, args.replica, service.name)
    else:
        replica = next((r for r in replicas if r.running), None)
    if replica is None or not replica.running:
        print(
            f"[emulator] No replica of service {service.name} is running "
            f"(state {service.state}); running the command in a fresh container of image "
            f"{image.image_id}, as `docker run` would.",
            file=sys.stderr,
        )
        replica = None
    if image.builder == "docker":
        return _run(_docker_command(image, replica, args.command), None, None)
    local = load_local_image(image.location or "")
    env = _replica_environment(replica) if replica is not None else None
    if env is None:
        env = _fresh_environment(local, image)
    env["PATH"] = os.pathsep.join([str(local.python.parent), env.get("PATH", os.defpath)])
    command = list(args.command)
    if command[0] in _PYTHON_NAMES:
        command[0] = str(local.python)
    return _run(command, local.app_root, env)


def _image(service: Webservice) -> ImageRecord:
    """The service's image; it must have been built (there is nothing to run otherwise)."""
    name, _, version = (service.image_id or "").partition(":")
    record = service.workspace.emulator_state.images.get(
        name, int(version) if version.isdigit() else None
    )
    if record is None or record.state is not CreationState.SUCCEEDED or not record.location:
        state = record.state.value if record is not None else "deleted"
        raise WebserviceException(
            f"Service {service.name} has no container to run a command in: its image "
            f"{service.image_id} is {state}. [emulator] See `amlemu build-log {service.image_id}`."
        )
    return record


def _replica_environment(replica: ReplicaView) -> dict[str, str] | None:
    """The running replica's environment, exactly (``None`` if it exited meanwhile)."""
    return None if replica.pid is None else process_environment(replica.pid)


def _fresh_environment(local: LocalImage, image: ImageRecord) -> dict[str, str]:
    """What a new replica of ``image`` would get, minus the server's port and the labels."""
    spec = LaunchSpec(
        name=image.image_id, image_location=image.location or "", port=0, log_path=Path(os.devnull)
    )
    env = container_environment(local, spec)
    env.pop(SERVER_PORT, None)
    return env


def _docker_command(
    image: ImageRecord, replica: ReplicaView | None, command: list[str]
) -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        raise WebserviceException(
            "amlemu exec needs the Docker command line for services on the docker runtime.\n"
            "[emulator] Install it (docker-ce-cli), or run `docker exec` yourself: the "
            "container's id is listed by `amlemu describe service`."
        )
    interactive = ["-i", *(["-t"] if sys.stdin.isatty() and sys.stdout.isatty() else [])]
    if replica is not None and replica.backend == "docker" and replica.ident:
        return [docker, "exec", *interactive, replica.ident, *command]
    return [
        docker,
        "run",
        "--rm",
        *interactive,
        "--network",
        "host",
        image.location or "",
        *command,
    ]


def _run(command: list[str], cwd: Path | None, env: dict[str, str] | None) -> int:
    """Run ``command`` in the foreground and return its exit code (``128 + n`` for signal n).

    Ctrl-C reaches the command (it shares the terminal); this process just waits it out.
    """
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        try:
            process = subprocess.Popen(command, cwd=cwd, env=env)
        except FileNotFoundError:
            print(f"amlemu: error: command not found: {command[0]}", file=sys.stderr)
            return NOT_FOUND
        except PermissionError:
            print(f"amlemu: error: permission denied: {command[0]}", file=sys.stderr)
            return NOT_EXECUTABLE
        code = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return code if code >= 0 else 128 - code


def _ignore(signum: int, frame: Any) -> None:
    """A Python-level handler: unlike SIG_IGN, it is not inherited by the command."""

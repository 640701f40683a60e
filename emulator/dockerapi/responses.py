"""The Docker Engine API's JSON shapes for the emulator's images and containers.

Only what clients read is filled in with meaning: docker-py's ``Container`` reads ``Name``,
``Config.Labels``, ``State.Status`` and ``NetworkSettings.Ports`` (azure-ai-ml's local endpoints
read nothing else: the labels hold the endpoint and deployment, the ports the scoring port);
``docker inspect`` users also see the mounts, variables and exit code. Fields Docker always
sends are present with Docker's empty values, so other clients do not trip over them.
"""

from __future__ import annotations

import platform
from datetime import datetime
from typing import Any

from emulator._version import __version__
from emulator.dockerapi.containers import DockerContainer
from emulator.dockerapi.images import DockerImage

#: The API version answered (Docker Engine 25; docker-py 7 asks for it with version="auto").
API_VERSION = "1.44"
MIN_API_VERSION = "1.24"


def version() -> dict[str, Any]:
    """``GET /version``: an engine named for what it is."""
    return {
        "Platform": {"Name": "azureml-emulator (Docker Engine API for local endpoints)"},
        "Components": [{"Name": "azureml-emulator", "Version": __version__, "Details": {}}],
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": "linux",
        "Arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()),
        "KernelVersion": platform.release(),
        "GitCommit": "",
        "GoVersion": "",
        "BuildTime": "",
    }


def image(found: DockerImage) -> dict[str, Any]:
    """``GET /images/{name}/json``."""
    plan = found.plan
    return {
        "Id": found.id,
        "RepoTags": list(found.tags),
        "RepoDigests": [],
        "Created": found.created,
        "Os": "linux",
        "Architecture": version()["Arch"],
        "Size": 0,
        "Config": {
            "Env": [f"{k}={v}" for k, v in plan.env.items()],
            "Cmd": plan.cmd or None,
            "Entrypoint": plan.entrypoint or None,
            "WorkingDir": plan.workdir,
            "Labels": plan.labels or None,
            "ExposedPorts": {port: {} for port in found.exposed},
        },
        "Metadata": {"LastTagTime": found.created},
        "Comment": f"built by azureml-emulator from {plan.base_image} (not pulled)",
    }


def container(found: DockerContainer) -> dict[str, Any]:
    """``GET /containers/{id}/json``."""
    running = found.status == "running"
    return {
        "Id": found.id,
        "Created": found.created,
        "Path": found.cmd[0] if found.cmd else "",
        "Args": found.cmd[1:],
        "State": {
            "Status": found.status,
            "Running": running,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": found.oom_killed,
            "Dead": False,
            "Pid": found.pid,
            "ExitCode": found.exit_code,
            "Error": found.error,
            "StartedAt": found.started_at,
            "FinishedAt": found.finished_at,
        },
        "Image": found.image.id,
        "Name": f"/{found.name}",
        "RestartCount": 0,
        "LogPath": str(found.log_path),
        "Mounts": [
            {
                "Type": "bind",
                "Source": str(b.source),
                "Destination": b.destination,
                "Mode": ",".join(b.options),
                "RW": not b.read_only,
                "Propagation": "rprivate",
            }
            for b in found.binds
        ],
        "Config": {
            "Image": found.image_reference,
            "Env": [f"{k}={v}" for k, v in found.env.items()],
            "Labels": found.labels,
            "Tty": found.tty,
            "Cmd": found.cmd or None,
            "WorkingDir": found.image.plan.workdir,
            "ExposedPorts": {port: {} for port in found.image.exposed},
        },
        "HostConfig": {
            "Binds": [b.spec for b in found.binds],
            "PublishAllPorts": found.publish_all_ports,
            "NetworkMode": "default",
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        },
        "NetworkSettings": {"Ports": found.ports},
    }


def container_summary(found: DockerContainer) -> dict[str, Any]:
    """One entry of ``GET /containers/json``."""
    ports = [
        {
            "IP": host["HostIp"],
            "PrivatePort": int(port.split("/")[0]),
            "PublicPort": int(host["HostPort"]),
            "Type": port.split("/")[1],
        }
        for port, hosts in found.ports.items()
        for host in hosts or []
    ]
    state = "Up" if found.status == "running" else f"Exited ({found.exit_code})"
    return {
        "Id": found.id,
        "Names": [f"/{found.name}"],
        "Image": found.image_reference,
        "ImageID": found.image.id,
        "Command": " ".join(found.cmd),
        "Created": int(datetime.fromisoformat(found.created.replace("Z", "+00:00")).timestamp()),
        "State": found.status,
        "Status": state if found.status != "created" else "Created",
        "Ports": ports,
        "Labels": found.labels,
        "Mounts": container(found)["Mounts"],
    }

"""The Docker Engine API that azure-ai-ml's local endpoints (``local=True``) talk to, offline.

``azure-ai-ml``'s local mode makes no HTTP call to Azure: it drives a Docker engine through the
``docker`` package (``docker.from_env()``, so ``DOCKER_HOST``), building an image FROM one of
Microsoft's registry images (which cannot be pulled offline) and running it with the model and
code mounted. The emulator answers those Engine API calls itself, on a Unix socket exported as
``DOCKER_HOST`` by ``amlemu up`` / ``amlemu env``, ``amlemu run`` and ``emulator.activate()``:
the image is the emulator's build of the Dockerfile's conda environment
(:mod:`~emulator.dockerapi.images`), a container is the emulator's scoring server run with the
container's variables and mounts (:mod:`~emulator.dockerapi.containers`,
:mod:`~emulator.dockerapi.mounts`). A socket rather than a hook inside the SDK: users' code, the
SDK and docker-py stay unchanged, any process (a notebook kernel, ``az ml ... --local``) reaches
it through one variable, and the daemon's containers outlive the deploying script as Docker's
do. The SDK's own limits (one deployment per local endpoint, no keys, no traffic split) are
enforced by the SDK itself, in its code, exactly as against Docker.

State (:mod:`images`, :mod:`containers`) is apart from protocol (:mod:`app`, :mod:`responses`);
:mod:`server` serves the protocol on the socket.
"""

from emulator.dockerapi.server import (
    DockerApiServer,
    client_variables,
    daemon_socket,
    daemon_variables,
    docker_host,
    private_socket,
    serving,
)

__all__ = [
    "DockerApiServer",
    "client_variables",
    "daemon_socket",
    "daemon_variables",
    "docker_host",
    "private_socket",
    "serving",
]

"""The Docker Engine API the emulator answers, as a WSGI application: routes, requests, errors.

The routes are the calls azure-ai-ml 1.35.2's local endpoints make through docker-py 7
(``azure/ai/ml/_local_endpoints/docker_client.py``): ``GET /version`` (``docker.from_env()``),
``POST /build`` (streamed progress), ``POST /containers/create``, ``POST .../start``, ``GET
/containers/json`` (label filters), ``GET .../json``, ``GET .../logs``, ``POST .../stop``,
``DELETE /containers/{id}``, and for prebuilt images ``GET /images/{name}/json`` and ``POST
/images/create`` (a pull, refused: no registry offline). Paths may carry an API version prefix
(``/v1.44/...``). Errors have Docker's shape, ``{"message": "..."}`` with Docker's status and
text first, then an ``[emulator]`` hint where the limit is the emulator's; a handler's
unexpected exception is logged with its traceback and answers 500, never a traceback.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from emulator.dockerapi import responses
from emulator.dockerapi.containers import ContainerStore, CreateRequest
from emulator.dockerapi.context import unpack_context
from emulator.dockerapi.images import ImageStore, normalize_reference
from emulator.exceptions import BadArgument, EmulatorError, NotFound
from emulator.images.buildlog import BuildFailed
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.dockerapi")

_VERSIONED = re.compile(r"/v\d+\.\d+(/.*)")
_SUPPORTED = (
    "[emulator] The emulator's Docker API answers the calls azure-ai-ml's local endpoints "
    "make (version, build, image inspect, containers create/start/inspect/list/logs/stop/"
    "remove); point DOCKER_HOST at a Docker engine for anything else."
)
Handler = Callable[[Request, dict[str, str]], Response]


class DockerApiApplication:
    """The WSGI callable of one Docker API server (its images and containers)."""

    def __init__(self, root: EmulatorRoot) -> None:
        self.images = ImageStore(root)
        self.containers = ContainerStore(root, self.images)
        self.directory = root.path / "dockerapi"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("GET", r"/_ping", self._ping),
                ("HEAD", r"/_ping", self._ping),
                ("GET", r"/version", self._version),
                ("POST", r"/build", self._build),
                ("GET", r"/images/(?P<name>.+)/json", self._image),
                ("POST", r"/images/create", self._pull),
                ("POST", r"/containers/create", self._create),
                ("GET", r"/containers/json", self._list),
                ("GET", r"/containers/(?P<id>[^/]+)/json", self._inspect),
                ("POST", r"/containers/(?P<id>[^/]+)/start", self._start),
                ("POST", r"/containers/(?P<id>[^/]+)/stop", self._stop),
                ("GET", r"/containers/(?P<id>[^/]+)/logs", self._logs),
                ("DELETE", r"/containers/(?P<id>[^/]+)", self._remove),
            )
        ]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        versioned = _VERSIONED.fullmatch(request.path)
        path = versioned.group(1) if versioned else request.path
        try:
            response = self._route(request, path)
        except EmulatorError as exc:
            response = _error(exc.status or 500, exc.message)
        except Exception:
            logger.exception("Docker API %s %s failed", request.method, path)
            response = _error(500, "The emulator's Docker API failed; its log has the details.")
        logger.info("Docker API %s %s -> %d", request.method, path, response.status_code)
        return response

    def close(self) -> None:
        """Stop and forget every container, then every image (the server is going away)."""
        self.containers.close()
        self.images.close()

    def _route(self, request: Request, path: str) -> Response:
        methods = []
        for method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if method == request.method:
                return handler(request, found.groupdict())
            methods.append(method)
        if methods:
            return _error(405, f"{request.method} is not allowed on {path}. {_SUPPORTED}")
        return _error(404, f"page not found: {request.method} {path}. {_SUPPORTED}")

    # -- system ------------------------------------------------------------------------------

    def _ping(self, request: Request, args: dict[str, str]) -> Response:
        return Response(
            "OK",
            content_type="text/plain; charset=utf-8",
            headers={"Api-Version": responses.API_VERSION, "OSType": "linux"},
        )

    def _version(self, request: Request, args: dict[str, str]) -> Response:
        return _json(responses.version())

    # -- images ------------------------------------------------------------------------------

    def _build(self, request: Request, args: dict[str, str]) -> Response:
        """Unpack the context, then stream the build's log as Docker's progress messages."""
        if request.args.get("remote"):
            raise BadArgument(
                "Building from a remote context is not supported. [emulator] Send the build "
                "context as the request body."
            )
        tags = [normalize_reference(tag) for tag in request.args.getlist("t")]  # 400 first
        self.directory.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="context-", dir=self.directory))
        try:
            files = unpack_context(request.stream, work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        dockerfile = request.args.get("dockerfile") or "Dockerfile"
        threading.Thread(
            target=self._run_build,
            args=(work, files, dockerfile, tags, events),
            name="amlemu-docker-build",
            daemon=True,
        ).start()
        return Response(_stream(events), content_type="application/json", direct_passthrough=True)

    def _run_build(
        self,
        work: Path,
        files: set[str],
        dockerfile: str,
        tags: list[str],
        events: queue.Queue[dict[str, Any] | None],
    ) -> None:
        try:
            built = self.images.build(
                work, files, dockerfile, tags, lambda line: events.put({"stream": line + "\n"})
            )
            events.put({"aux": {"ID": built.id}})
            events.put({"stream": f"Successfully built {built.id[7:19]}\n"})
            for tag in built.tags:
                events.put({"stream": f"Successfully tagged {tag}\n"})
        except (BuildFailed, EmulatorError) as exc:
            text = f"{exc.step}: {exc.message}" if isinstance(exc, BuildFailed) else exc.message
            events.put({"errorDetail": {"message": text}, "error": text})
        except Exception as exc:
            logger.exception("Docker API build failed")
            text = f"The emulator's image build failed: {exc!r}"
            events.put({"errorDetail": {"message": text}, "error": text})
        finally:
            shutil.rmtree(work, ignore_errors=True)
            events.put(None)

    def _image(self, request: Request, args: dict[str, str]) -> Response:
        return _json(responses.image(self.images.get(args["name"])))

    def _pull(self, request: Request, args: dict[str, str]) -> Response:
        name = request.args.get("fromImage", "")
        tag = request.args.get("tag")
        reference = f"{name}:{tag}" if tag else name
        raise NotFound(
            f"pull access denied for {reference}, repository does not exist or may require "
            "'docker login' [emulator] Nothing is pulled offline: a local deployment whose "
            "environment is a prebuilt image (inference_config) cannot run; give the "
            "environment a conda_file (and an Azure ML base image) instead."
        )

    # -- containers --------------------------------------------------------------------------

    def _create(self, request: Request, args: dict[str, str]) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("Image"):
            raise BadArgument("config cannot be empty in order to create a container")
        host = body.get("HostConfig") or {}
        _refuse_unsupported(body, host)
        env = dict(str(e).partition("=")[::2] for e in body.get("Env") or [])
        created = self.containers.create(
            CreateRequest(
                image=str(body["Image"]),
                name=request.args.get("name"),
                env=env,
                labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
                binds=[str(b) for b in host.get("Binds") or []],
                tty=bool(body.get("Tty")),
                publish_all_ports=bool(host.get("PublishAllPorts")),
            )
        )
        return _json({"Id": created.id, "Warnings": []}, 201)

    def _list(self, request: Request, args: dict[str, str]) -> Response:
        raw = request.args.get("filters") or "{}"
        try:
            decoded = json.loads(raw)
        except ValueError:
            raise BadArgument(f"invalid filter: {raw!r} is not JSON") from None
        filters = {
            str(key): [str(v) for v in (value if isinstance(value, list) else value.keys())]
            for key, value in (decoded or {}).items()
        }
        include_stopped = request.args.get("all", "0").lower() in ("1", "true")
        found = self.containers.list(include_stopped, filters)
        return _json([responses.container_summary(c) for c in found])

    def _inspect(self, request: Request, args: dict[str, str]) -> Response:
        return _json(responses.container(self.containers.get(args["id"])))

    def _start(self, request: Request, args: dict[str, str]) -> Response:
        started = self.containers.start(args["id"])
        return Response(status=204 if started else 304)

    def _stop(self, request: Request, args: dict[str, str]) -> Response:
        grace = request.args.get("t") or request.args.get("timeout") or "10"
        stopped = self.containers.stop(args["id"], float(grace))
        return Response(status=204 if stopped else 304)

    def _logs(self, request: Request, args: dict[str, str]) -> Response:
        flags = {
            k: request.args.get(k, "0").lower() in ("1", "true")
            for k in ("stdout", "stderr", "follow", "timestamps")
        }
        if not (flags["stdout"] or flags["stderr"]):
            raise BadArgument("Bad parameters: you must choose at least one stream")
        if flags["follow"] or flags["timestamps"]:
            raise BadArgument(
                "follow and timestamps are not supported. [emulator] The emulator's containers "
                "keep one log file without timestamps; read it without them."
            )
        tail = request.args.get("tail", "all")
        if tail not in ("all", "") and not tail.lstrip("-").isdigit():
            raise BadArgument(f"tail must be a number of lines or 'all', not {tail!r}")
        lines = None if tail in ("all", "") or int(tail) < 0 else int(tail)
        container = self.containers.get(args["id"])
        data = self.containers.logs(container.id, lines).encode("utf-8")
        if not container.tty:  # Docker multiplexes stdout/stderr frames without a TTY
            data = struct.pack(">BxxxL", 1, len(data)) + data if data else b""
        return Response(data, content_type="application/vnd.docker.raw-stream")

    def _remove(self, request: Request, args: dict[str, str]) -> Response:
        force = request.args.get("force", "0").lower() in ("1", "true")
        self.containers.remove(args["id"], force)
        return Response(status=204)


def _refuse_unsupported(body: dict[str, Any], host: dict[str, Any]) -> None:
    """What a process replica cannot do, refused with the reason (not silently ignored)."""
    if host.get("DeviceRequests"):
        raise EmulatorError(
            'could not select device driver "" with capabilities: [[gpu]] [emulator] The '
            "emulator's local endpoints run on the CPU; deploy without local_enable_gpu.",
            status=500,
        )
    if any(host.get("PortBindings") or {}):
        raise BadArgument(
            "Fixed port bindings are not supported. [emulator] Publish all ports "
            "(publish_all_ports=True): the scoring port gets a free loopback port."
        )
    if body.get("Entrypoint") or body.get("Cmd") or host.get("Mounts"):
        raise BadArgument(
            "Cmd, Entrypoint and Mounts are not supported. [emulator] A container of the "
            "emulator always runs its image's scoring server; mount with Binds."
        )
    policy = (host.get("RestartPolicy") or {}).get("Name") or "no"
    if policy != "no":
        raise BadArgument(
            f"Restart policy {policy!r} is not supported. [emulator] Containers of the "
            "emulator's Docker API are never restarted (Docker's default, 'no')."
        )


def _stream(events: queue.Queue[dict[str, Any] | None]) -> Iterator[bytes]:
    while True:
        event = events.get()
        if event is None:
            return
        yield (json.dumps(event) + "\r\n").encode("utf-8")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"message": message}, status)

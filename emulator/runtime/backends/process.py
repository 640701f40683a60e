"""The process backend: a local image's scoring server run as a subprocess tree on this machine.

What Docker gives a container, a run gets here too: the image's interpreter and ``PYTHONPATH``
(from ``image.json``, see :func:`~emulator.images.builders.local.load_local_image`), the app
root as working directory, the image's and Azure's variables (host variables that Azure's
server reads are dropped, so the host cannot change the container's behaviour), its own
session and process group (stopping it ends the server *and* its worker processes), the
resource limits of :mod:`emulator.runtime.limits`, and stdout+stderr appended to
``spec.log_path``. Exit codes of runs killed by a signal read as Docker's (``128 + signal``).

An OOM kill is reported from the cgroup's counter; under the rlimit fallback the allocation
fails with ``MemoryError`` instead, and a run that logged one reports ``oom_killed`` as well.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import IO, Protocol

from emulator import settings
from emulator.exceptions import InvalidSetting, OperationFailed
from emulator.images.builders.local import IMAGE_FILE, LocalImage, load_local_image
from emulator.runtime import reaper
from emulator.runtime.backends.base import ExitStatus, LaunchSpec
from emulator.runtime.labels import (
    CONTAINER,
    ENV_PREFIX,
    OWNER_PID,
    SESSION,
    env_name,
    label_environment,
    session_id,
)
from emulator.runtime.limits import Allocation, allocate
from emulator.server import config as server_config

NAME = "process"
#: Host variables a container never inherits: Azure's and the server's settings come from the
#: image and the deployment only.
_DROPPED_PREFIXES = ("AZUREML_", "AML_", ENV_PREFIX)
_DROPPED = {*server_config.PER_REPLICA, "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
_MEMORY_ERROR = b"MemoryError"
logger = logging.getLogger("azureml.emulator.runtime")
_LOG_SCAN_BYTES = 4 << 20


class ProcessBackend:
    """Starts local-builder images (``local``/``host``) as process trees.

    ``limits``: ``auto`` (cgroups when writable, else rlimits), ``cgroup`` or ``rlimit``.
    """

    name = NAME

    def __init__(self, limits: str = "auto") -> None:
        self.limits = limits

    def launch(self, spec: LaunchSpec) -> ProcessLaunch:
        try:
            warm = settings.warm_start()
        except ValueError as exc:
            raise InvalidSetting(str(exc)) from exc
        image = _load_image(spec.image_location)
        # The session's labels even on a bare spec: they are how leftovers are found.
        own = {SESSION: session_id(), OWNER_PID: str(os.getpid()), CONTAINER: spec.name}
        spec = replace(spec, labels={**own, **spec.labels})
        key = f"{session_id()}-{uuid.uuid4().hex[:8]}"
        try:
            allocation = allocate(key, spec.memory_gb, spec.cpu_cores, self.limits)
        except OSError as exc:
            raise OperationFailed(
                f"Cannot apply the resource limits of container {spec.name}: {exc}"
            ) from exc
        python = str(image.python)
        args = ["serve", "--port", str(spec.port)]
        environment = container_environment(image, spec)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(spec.log_path, "ab")  # noqa: SIM115 - owned by the launch, closed by stop()
        offset = log.tell()
        try:
            leader = _warm_start(warm, image, environment, allocation, spec.log_path, args, log)
        except BaseException:  # interrupted (a bug falls back cold): nothing of it stays open
            log.close()
            allocation.release()
            raise
        if leader is None:
            try:
                leader = PopenLeader(
                    subprocess.Popen(
                        allocation.command([python, "-m", "emulator", *args], python),
                        cwd=image.app_root,
                        env=environment,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            except OSError as exc:
                log.close()
                allocation.release()
                raise OperationFailed(
                    f"Cannot start container {spec.name} from image {spec.image_location}: {exc}"
                ) from exc
        data = {
            "pid": leader.pid,
            "start": reaper.process_start(leader.pid),
            "allocation": allocation.to_data(),
        }
        try:
            record = reaper.record(NAME, str(leader.pid), spec.labels, data)
        except OSError as exc:  # unrecorded, it could outlive this session: do not let it run
            leader.signal(signal.SIGKILL, group=True)
            leader.reap()
            allocation.release()
            log.close()
            raise OperationFailed(
                f"Cannot start container {spec.name}: its record cannot be written ({exc})."
            ) from exc
        return ProcessLaunch(leader, allocation, record, log, offset, spec.log_path)


class Leader(Protocol):
    """A run's server process: started here (:class:`PopenLeader`) or forked by a zygote
    (:class:`~emulator.runtime.zygote.ZygoteLeader`, which signals and reaps it for us)."""

    pid: int

    def exited(self) -> bool:
        """Whether it exited, without reaping it (its pid and group id stay reserved)."""
        ...

    def signal(self, signum: int, group: bool = False) -> None:
        """Signal it (``group``: its process group) if it was not reaped; never raises."""
        ...

    def reap(self) -> int:
        """Wait for it; its exit code (``-N`` or ``128+N`` when signal N killed it)."""
        ...


class PopenLeader:
    """A server process this process started (cold start)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.pid = process.pid

    def exited(self) -> bool:
        if self.process.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def signal(self, signum: int, group: bool = False) -> None:
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self.pid, signum)
            else:
                os.kill(self.pid, signum)

    def reap(self) -> int:
        return self.process.wait()


def _warm_start(
    warm: bool,
    image: LocalImage,
    environment: dict[str, str],
    allocation: Allocation,
    log_path: Path,
    args: list[str],
    log: IO[bytes],
) -> Leader | None:
    """The run forked from a zygote of the image's environment, or None (cold start; the
    reason is written to the run's log). A warm start is only a faster way to the same
    replica, so an unexpected error in it (a bug) starts the replica cold as well, rather than
    failing a deployment that a cold start serves; its traceback goes to the emulator's log."""
    from emulator.runtime import zygote

    try:
        if not warm:
            raise zygote.Refused(f"{settings.WARM_START_ENV}=0")
        return zygote.start(image, environment, allocation.confinement.to_json(), log_path, args)
    except zygote.Refused as exc:
        reason = str(exc)
    except Exception as exc:
        logger.exception("Warm start failed; starting cold")
        reason = f"the warm start failed ({type(exc).__name__}: {exc})"
    log.write(f"[emulator] Cold start (no warm interpreter): {reason}\n".encode())
    log.flush()
    return None


class ProcessLaunch:
    """One run: the server process (leader of its own process group) and its cgroups."""

    def __init__(
        self,
        leader: Leader,
        allocation: Allocation,
        record: reaper.Record,
        log: IO[bytes],
        log_offset: int,
        log_path: Path,
    ) -> None:
        self.leader = leader
        self.allocation = allocation
        self._record = record
        self._log = log
        self._log_offset = log_offset
        self._log_path = log_path
        self._lock = threading.RLock()
        self._status: ExitStatus | None = None
        self._stopped = False

    @property
    def ident(self) -> str:
        return str(self.leader.pid)

    @property
    def limits(self) -> str:
        return self.allocation.mechanism

    def exit_status(self) -> ExitStatus | None:
        with self._lock:
            if self._status is None and self._leader_exited():
                self._finish()
            return self._status

    def stop(self, grace_seconds: float = 5.0) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._status is None:
                if not self._leader_exited():
                    self.leader.signal(signal.SIGTERM)  # the server, as docker stop
                    if not self._wait_leader(grace_seconds):
                        self.leader.signal(signal.SIGKILL, group=True)
                        self._wait_leader(None)
                self._finish()
            self.allocation.release()
            self._log.close()
            reaper.forget(self._record)
            self._stopped = True

    def _leader_exited(self) -> bool:
        """Whether the server exited, without reaping it: while it is an unreaped zombie its
        pid cannot be reused, so killing its process group cannot hit a stranger."""
        return self.leader.exited()

    def _wait_leader(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._leader_exited():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _finish(self) -> None:
        """The server exited: end what it left (workers), reap it, say how it ended."""
        self.leader.signal(signal.SIGKILL, group=True)
        self.allocation.kill_all(timeout=0)
        code = self.leader.reap()
        oom = self.allocation.oom_kills() > 0
        inferred = False
        if not oom and self.allocation.mechanism == "rlimit":
            oom = inferred = self._logged_memory_error()
        self._status = ExitStatus(code if code >= 0 else 128 - code, oom, inferred)

    def _logged_memory_error(self) -> bool:
        self._log.flush()
        try:
            with open(self._log_path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(self._log_offset, size - _LOG_SCAN_BYTES))
                return _MEMORY_ERROR in handle.read()
        except OSError:
            return False


def container_environment(image: LocalImage, spec: LaunchSpec) -> dict[str, str]:
    """The run's variables: host ones (PATH, HOME, locale, ...) minus Azure's, then the image's,
    the deployment's, ``SERVER_PORT`` and the labels."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }
    env.update(image.env)
    if image.python_path:
        env["PYTHONPATH"] = os.pathsep.join(str(path) for path in image.python_path)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(spec.environment)
    env[server_config.SERVER_PORT] = str(spec.port)
    env.update(label_environment(spec.labels))
    return env


def kill_record(record: reaper.Record) -> None:
    """The reaper's killer: end a (dead session's) run from its record. Idempotent."""
    data = record.data
    pid = int(data.get("pid", record.ident))
    current = reaper.process_start(pid)
    if current is None or current == data.get("start"):
        # The leader, or its orphans: a pid still used as a process group id is never reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    Allocation.from_data(dict(data.get("allocation", {}))).release()
    session = record.labels.get(SESSION)
    if session:
        for straggler in processes_with_env(env_name(SESSION), session):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(straggler, signal.SIGKILL)


def processes_with_env(name: str, value: str) -> list[int]:
    """Pids of this machine's processes (not this one) whose environment has ``name=value``.

    Labels travel as inherited variables, so this finds every process a run started, even one
    that left its process group. Linux only (``/proc``); elsewhere nothing is found.
    """
    wanted = f"{name}={value}".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def process_environment(pid: int) -> dict[str, str] | None:
    """The environment ``pid`` started with (``None`` when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    entries = (item.decode("utf-8", "surrogateescape") for item in raw.split(b"\0") if item)
    return dict(entry.partition("=")[::2] for entry in entries)


def _load_image(location: str) -> LocalImage:
    try:
        image = load_local_image(location)
    except (OSError, ValueError, KeyError) as exc:
        raise OperationFailed(
            f"Image {location} cannot be started: {exc}\n[emulator] The process runtime starts "
            f"images built by the local builder (a directory with {IMAGE_FILE}); an image "
            "built by the docker builder needs AZUREML_EMULATOR_RUNTIME=docker."
        ) from exc
    if not image.python.exists():
        raise OperationFailed(
            f"Image {location} cannot be started: its interpreter {image.python} is missing.\n"
            "[emulator] Rebuild the image (its cached environment was removed)."
        )
    return image

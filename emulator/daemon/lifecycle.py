"""``amlemu up`` / ``down`` / ``status``: one daemon per emulator root, started and stopped.

The daemon is an ordinary process serving :class:`~emulator.daemon.server.EmulatorServer` until
SIGTERM, SIGHUP or Ctrl-C. On start it brings back the root's online deployments
(:mod:`emulator.daemon.restore`), on the port of its last run when free, so their scoring URIs
stay the same, and the SDK v1 services it hosted (:mod:`emulator.daemon.v1_services`) on their
own ports; on a signal it stops what it hosts (the services' records say why, as for
``amlemu run``) and withdraws its pid file. ``--detach`` starts that same process in a new
session with its output in ``<root>/daemon/daemon.log`` and returns once it serves (or reports
why it did not). ``down`` sends SIGTERM and waits for the lock to be released, which happens
only when the process is gone — so nothing is left behind when ``down`` returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from emulator.daemon import DaemonError
from emulator.daemon.files import DaemonFiles, DaemonInfo
from emulator.daemon.restore import restore_deployments
from emulator.daemon.server import EmulatorServer, can_bind
from emulator.daemon.v1_services import V1Services
from emulator.dockerapi import DockerApiServer, daemon_socket
from emulator.store.root import EmulatorRoot

logger = logging.getLogger("emulator.daemon")

#: How long ``up --detach`` waits for the daemon to serve, and ``down`` for it to end.
START_SECONDS = 60.0
STOP_SECONDS = 30.0
#: How long a starting daemon retries the lock: probes hold it for microseconds, a daemon forever.
LOCK_WAIT_SECONDS = 1.0


def serve(
    root: EmulatorRoot,
    port: int | None,
    announce: Callable[[DaemonInfo], None],
    strict_auth: bool = False,
) -> int:
    """Run the root's daemon in this process until a signal ends it; returns the exit code."""
    from emulator.services.termination import handle_termination, stop_hosted_services

    files = DaemonFiles.for_root(root.path)
    lock = files.acquire(wait=LOCK_WAIT_SECONDS)
    if lock is None:
        raise DaemonError(_already_running(files, root))
    try:
        with handle_termination():
            v1 = V1Services(root)  # SDK v1 services handed over by `amlemu run` scripts
            server = EmulatorServer(root, _port(files, port), strict_auth, v1).start()
            # azure-ai-ml's local=True: the Docker API (`amlemu env` exports its DOCKER_HOST)
            docker = DockerApiServer(root, daemon_socket(root.path)).start()
            try:
                restore_deployments(root)  # marked Updating at once, provisioned in the background
                v1.restore()  # the same for the v1 services it hosted
                files.publish(server.port)
                announce(DaemonInfo(os.getpid(), server.port))
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt as exc:  # SIGTERM/SIGHUP arrive as HostTerminated
                logger.info("Stopping: %s", exc or "interrupted (Ctrl-C)")
                v1.stop(getattr(exc, "reason", None) or "was interrupted (Ctrl-C)")
                stop_hosted_services(exc)
                return int(getattr(exc, "exit_code", 128 + signal.SIGINT))
            finally:
                v1.stop()
                docker.stop()
                server.stop()
                files.withdraw()
    finally:
        lock.close()


def start_detached(root: EmulatorRoot, port: int | None, strict_auth: bool = False) -> DaemonInfo:
    """Start the daemon in the background (new session, output to its log); returns once it
    serves. Raises :class:`DaemonError` with the log's tail when it does not start."""
    files = DaemonFiles.for_root(root.path)
    if files.running() is not None:
        raise DaemonError(_already_running(files, root))
    command = [sys.executable, "-m", "emulator", "--root", str(root.path), "up"]
    if port is not None:
        command += ["--port", str(port)]
    if strict_auth:
        command.append("--strict-auth")
    with open(files.log_file, "ab") as log, open(os.devnull, "rb") as devnull:
        child = subprocess.Popen(
            command, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        info = files.running()
        if info is not None and info.pid == child.pid:
            return info
        if child.poll() is not None:
            raise DaemonError(
                f"The emulator daemon exited with code {child.returncode} instead of serving. "
                f"Its log ({files.log_file}) ends with:\n{_tail(files.log_file)}"
            )
        time.sleep(0.05)
    child.terminate()
    child.wait()
    raise DaemonError(
        f"The emulator daemon did not serve within {START_SECONDS:.0f} s; it was stopped. "
        f"Its log ({files.log_file}) ends with:\n{_tail(files.log_file)}"
    )


def stop(root: EmulatorRoot) -> DaemonInfo | None:
    """Stop the root's daemon and wait until it is gone; None when none was running."""
    files = DaemonFiles.for_root(root.path)
    info = files.running()
    if info is None:
        return None
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        if process_gone(info.pid):
            return info
        time.sleep(0.05)
    raise DaemonError(
        f"The emulator daemon (pid {info.pid}) did not stop within {STOP_SECONDS:.0f} s of "
        f"SIGTERM. Its log is {files.log_file}; end it with `kill -9 {info.pid}` if it hangs."
    )


def process_gone(pid: int) -> bool:
    """Whether ``pid`` has ended: no such process, or a zombie waiting for a parent (a detached
    daemon's parent has exited, and it is not for us to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's: not ours
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _port(files: DaemonFiles, requested: int | None) -> int:
    """``--port``, else the port of the last run when it is free (so ``amlemu env``'s variables
    stay valid across restarts), else any free port."""
    if requested is not None:
        return requested
    last = files.last_port()
    if last is None:
        return 0
    if can_bind(last):
        return last
    logger.warning(
        "Port %d of the last run is in use: serving on another one, so the scoring URIs of the "
        "root's endpoints and `amlemu env`'s variables change (run `amlemu env` again). Stop "
        "what holds port %d and restart to keep them.",
        last,
        last,
    )
    return 0


def _already_running(files: DaemonFiles, root: EmulatorRoot) -> str:
    info = files.running()
    where = f" (pid {info.pid}, {info.base_url})" if info else ""
    return (
        f"An emulator daemon already runs for {root.path}{where}. Use it (`amlemu env`), stop it "
        "with `amlemu down`, or start another one with --root DIR."
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

"""Nothing outlives its session: exit, SIGTERM, Ctrl-C, SIGKILL (the session's watchdog), and
what even the watchdog could not stop, by the next session.

Each test runs a real session in a subprocess that starts a container (sharing this test's
emulator root), then ends it one way or another and looks for what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import READY_TIMEOUT, REPO, BuildImage, StartContainer

from emulator.runtime import reaper
from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SESSION, env_name
from emulator.settings import WARM_START_ENV

pytestmark = pytest.mark.slow

SESSION_SCRIPT = """
import json, signal, sys, time
from emulator.runtime.container import Container, ContainerConfig
from emulator.runtime.labels import session_id
from emulator.runtime.lifeline import watchdog_pid

image, how = sys.argv[1], sys.argv[2]
# As in a terminal, whatever this test process inherited (background jobs ignore SIGINT).
signal.signal(signal.SIGINT, signal.default_int_handler)
if how == "chained":
    def previous(signum, frame):
        print("previous handler ran", flush=True)
        sys.exit(7)
    signal.signal(signal.SIGTERM, previous)
if how == "sigint-default":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
container = Container(ContainerConfig("leftover", image, environment={"WORKER_COUNT": "2"}))
status = container.start().wait_until_ready(30)
print(json.dumps({"session": session_id(), "ready": status.ready,
                  "server": int(container._launch.ident), "watchdog": watchdog_pid()}),
      flush=True)
if how == "exit":
    sys.stdin.readline()  # the test has looked at the processes: exit normally now
else:
    time.sleep(60)
"""


class Session:
    """A Python process that starts one container and reports its session id."""

    def __init__(self, image: str, how: str, **variables: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SESSION_SCRIPT, image, how],
            cwd=REPO,
            env={**os.environ, **variables},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read() if self.process.stderr else ""
        self.info: dict[str, Any] = json.loads(line)
        assert self.info["ready"]

    def processes(self) -> list[int]:
        return processes_with_env(env_name(SESSION), self.info["session"])

    def wait(self) -> tuple[int, str]:
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


def _assert_cleaned(session: Session, root: Path) -> None:
    assert session.processes() == []
    assert not (root / "runtime" / "sessions" / session.info["session"]).exists()


def test_exit_stops_what_the_session_started(build_image: BuildImage, runtime_root: Path) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "exit")
    deadline = time.monotonic() + 10  # a worker may still be booting when / answers
    while len(session.processes()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(session.processes()) >= 2  # the server and its workers
    assert session.process.stdin is not None
    session.process.stdin.write("exit\n")
    session.process.stdin.flush()
    code, err = session.wait()
    assert code == 0, err
    _assert_cleaned(session, runtime_root)
    deadline = time.monotonic() + 10  # nothing left to do: the watchdog just ends
    while reaper.process_start(session.info["watchdog"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reaper.process_start(session.info["watchdog"]) is None


def test_sigterm_stops_everything_and_still_ends_the_process(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "wait")
    session.process.send_signal(signal.SIGTERM)
    code, err = session.wait()
    assert code == -signal.SIGTERM, err
    _assert_cleaned(session, runtime_root)


def test_sigterm_chains_to_the_previous_handler(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "chained")
    session.process.send_signal(signal.SIGTERM)
    code, err = session.wait()
    assert code == 7, err
    _assert_cleaned(session, runtime_root)


def test_ctrl_c_still_raises_keyboard_interrupt(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "wait")
    session.process.send_signal(signal.SIGINT)
    code, err = session.wait()
    assert code != 0 and "KeyboardInterrupt" in err
    _assert_cleaned(session, runtime_root)


def test_sigkill_the_watchdog_stops_everything_at_once(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "wait")
    watchdog = session.info["watchdog"]
    assert watchdog is not None and reaper.process_start(watchdog) is not None
    session.process.kill()
    session.wait()
    deadline = time.monotonic() + 15
    while (session.processes() or reaper.process_start(watchdog)) and time.monotonic() < deadline:
        time.sleep(0.05)
    _assert_cleaned(session, runtime_root)
    assert reaper.process_start(watchdog) is None  # its work done, the watchdog ended too


def test_what_even_the_watchdog_left_is_reaped_by_the_next_session(
    build_image: BuildImage, start_container: StartContainer, runtime_root: Path
) -> None:
    # Cold: a warm replica's server dies with its zygote, which ends with the host (below).
    session = Session(build_image("server/score_misbehaves.py"), "wait", **{WARM_START_ENV: "0"})
    os.kill(session.info["watchdog"], signal.SIGKILL)  # as a power loss would: both gone at once
    session.process.kill()
    session.wait()
    left = session.processes()
    assert session.info["server"] in left and len(left) >= 2  # orphaned, still serving
    session_dir = runtime_root / "runtime" / "sessions" / session.info["session"]
    assert [p.name for p in session_dir.glob("process-*.json")] == [
        f"process-{session.info['server']}.json"
    ]

    # The next session that uses this root reaps them before starting anything.
    container = start_container("score_echo.py")
    deadline = time.monotonic() + 5
    while session.processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    _assert_cleaned(session, runtime_root)
    assert container.wait_until_ready(READY_TIMEOUT).ready
    assert reaper.reap_dead_sessions(runtime_root) == []


def test_warm_replicas_die_with_the_host_even_without_the_watchdog(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "wait")
    zygote = reaper.process_start(session.info["server"]) and _parent(session.info["server"])
    assert zygote and zygote != session.process.pid  # forked from the session's zygote
    os.kill(session.info["watchdog"], signal.SIGKILL)
    session.process.kill()
    session.wait()
    deadline = time.monotonic() + 10  # the zygote saw its socket close: it ends its replicas
    while session.processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session.processes() == []


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return int(handle.read().rpartition(b")")[2].split()[1])


def test_a_default_sigint_is_handled_like_sigterm(
    build_image: BuildImage, runtime_root: Path
) -> None:
    session = Session(build_image("server/score_misbehaves.py"), "sigint-default")
    session.process.send_signal(signal.SIGINT)
    code, err = session.wait()
    assert code == -signal.SIGINT, err
    _assert_cleaned(session, runtime_root)

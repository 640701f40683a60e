"""The session watchdog (emulator/runtime/lifeline.py): restarted when killed, and what it does
once its host's pipe closes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from runtime_harness import BuildImage

from emulator.runtime import lifeline, reaper
from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.container import Container, ContainerConfig
from emulator.runtime.labels import SESSION, env_name, session_id


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while reaper.process_start(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return reaper.process_start(pid) is None


def test_a_killed_watchdog_is_replaced_at_the_next_start(
    build_image: BuildImage, runtime_root: Path
) -> None:
    lifeline.bind(session_id(), runtime_root, "process")
    first = lifeline.watchdog_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert _gone(first)

    container = Container(ContainerConfig("after-kill", build_image("score_echo.py")))
    try:
        container.start()
        second = lifeline.watchdog_pid()
        assert second is not None and second != first
        environ = Path(f"/proc/{second}/environ").read_bytes().split(b"\0")
        assert f"{lifeline.WATCHDOG_ENV}={session_id()}".encode() in environ
    finally:
        container.stop(grace_seconds=2)


def test_end_of_the_pipe_stops_the_sessions_runs_recorded_or_not(runtime_root: Path) -> None:
    """What a host killed between starting a run and recording it leaves: found by its label."""
    session = f"gone-{os.getpid()}"
    code = "import time; time.sleep(60)"
    env = {**os.environ, env_name(SESSION): session}
    recorded = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    unrecorded = subprocess.Popen([sys.executable, "-c", code], env=env)
    directory = reaper.sessions_dir(runtime_root) / session
    directory.mkdir(parents=True)
    (directory / reaper.SESSION_FILE).write_text('{"pid": 1}')
    data = {"pid": recorded.pid, "start": reaper.process_start(recorded.pid)}
    record = reaper.Record("process", str(recorded.pid), {SESSION: session}, data)
    (directory / f"process-{recorded.pid}.json").write_text(record.to_json())
    try:
        facts = f"root {runtime_root}\nbackend process\n".encode()
        lifeline.watch(session, 1, io.BytesIO(facts))  # returns once its work is done
        assert recorded.wait(timeout=10) == -signal.SIGKILL
        assert unrecorded.wait(timeout=10) == -signal.SIGKILL
        assert processes_with_env(env_name(SESSION), session) == []
        assert not directory.exists()
    finally:
        for process in (recorded, unrecorded):
            if process.poll() is None:
                process.kill()
                process.wait()

"""The service scenarios: steady load, faults during load, and the whole emulator restarted.

Each returns a JSON-ready dict with an ``ok`` verdict and the numbers behind it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from reliability.memory import emulator_pids, rss_mb
from reliability.world import PAYLOAD, World, inventory

REPO = Path(__file__).resolve().parent.parent
#: Memory counts as flat when the end is within this of the start (allocator caches, buffers).
MEMORY_SLACK_MB = 24.0
MEMORY_SLACK_SHARE = 0.15


def _start_load(world: World, clients: int, seconds: float, retries: int) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "reliability.load",
        "--url", world.service.scoring_uri, "--key", world.key,
        "--clients", str(clients), "--seconds", str(seconds), "--retries", str(retries),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)


def _finish_load(process: subprocess.Popen[str], seconds: float) -> dict[str, Any]:
    out, _ = process.communicate(timeout=seconds + 120)
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


def post(uri: str, key: str, timeout: float = 10.0) -> int | str:
    """One scoring request: its status, or the error's name when there was none."""
    request = urllib.request.Request(
        uri,
        data=PAYLOAD,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError as error:
        return type(error).__name__


def steady_load(world: World, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` clients for ``seconds``, no faults: every request answered, no 5xx, memory
    flat (sampled once the load is warm and again near its end)."""
    process = _start_load(world, clients, seconds, retries=0)
    warm = min(2.0, seconds / 4)
    time.sleep(warm)
    start = rss_mb(emulator_pids())
    time.sleep(max(0.0, seconds - warm - 0.5))
    end = rss_mb(emulator_pids())
    result = _finish_load(process, seconds)
    unexpected = sum(n for status, n in result["statuses"].items() if status.startswith("5"))
    growth = round(end - start, 1)
    flat = growth <= max(MEMORY_SLACK_MB, start * MEMORY_SLACK_SHARE)
    result.update(
        unexpected_5xx=unexpected,
        memory_mb={"start": start, "end": end, "growth": growth, "flat": flat},
        ok=result["lost"] == 0 and unexpected == 0 and flat and result["requests"] > 0,
    )
    return result


def faults_during_load(world: World, clients: int, seconds: float) -> dict[str, Any]:
    """Load with retrying clients while a replica is killed with SIGKILL and the gateway is
    stopped and started again on its port: nothing lost, and the service answers afterwards."""
    process = _start_load(world, clients, seconds, retries=6)
    survived: list[str] = []
    details: dict[str, Any] = {}
    time.sleep(seconds * 0.2)

    fault = world.service.faults.kill(replica=0).wait(10)
    deployment = world.service._manager.deployment(world.service.name)
    replica = deployment.containers()[0]
    restarted = _until(lambda: replica.status.restart_count >= 1 and replica.ready, 30)
    details["kill"] = {"detail": fault.detail, "restarted": restarted}
    if restarted:
        survived.append("kill -9 a replica")

    time.sleep(seconds * 0.2)
    gateway = world.gateway
    port = gateway.port
    stopped = time.monotonic()
    gateway.stop()
    time.sleep(0.2)  # clients meet a closed port meanwhile
    gateway.start(port=port)
    details["gateway_restart"] = {"port": port, "down_s": round(time.monotonic() - stopped, 3)}

    result = _finish_load(process, seconds)
    after = [post(world.service.scoring_uri, world.key) for _ in range(5)]
    details["gateway_restart"]["after"] = after
    if all(status == 200 for status in after):
        survived.append("gateway restart on the same port")
    result.update(survived=survived, details=details)
    result["ok"] = result["lost"] == 0 and len(survived) == 2
    return result


def emulator_restart(world: World) -> dict[str, Any]:
    """A process deploys ``phoenix`` and is killed with SIGKILL; a new process finds the
    workspace intact and deploys the service again from its persisted record."""
    env = {**os.environ}
    before = inventory(world.ws)
    first = _child("host", env)
    hosted = _report(first)
    answered = post(hosted["uri"], hosted["key"])
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    dead = post(hosted["uri"], hosted["key"], timeout=2)

    second = _child("redeploy", env)
    reborn = _report(second)
    again = post(reborn["uri"], reborn["key"])
    second.communicate(timeout=60)  # closing its stdin ends it
    from emulator.runtime.backends.process import processes_with_env
    from emulator.runtime.labels import SESSION, env_name

    leftovers = processes_with_env(env_name(SESSION), hosted["session"])
    after = inventory(world.ws)
    intact = all(set(before[kind]) <= set(after[kind]) for kind in before) and all(
        set(before[kind]) <= set(reborn["inventory"][kind]) for kind in ("models", "images")
    )
    ok = answered == 200 and dead != 200 and again == 200 and intact and not leftovers
    return {
        "before_kill": answered,
        "after_kill": dead,
        "state_seen_by_new_process": reborn["state_after_crash"],
        "after_redeploy": again,
        "workspace_intact": intact,
        "orphaned_processes": len(leftovers),
        "ok": ok,
    }


def _child(mode: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reliability.child", mode],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _report(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The JSON line a child prints once it serves (other lines are the SDK's chatter)."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            report: dict[str, Any] = json.loads(line)
            return report
    raise RuntimeError(f"the child exited (code {process.wait()}) without reporting")


def _until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

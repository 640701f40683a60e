"""``amlemu logs -f`` follows a replica's log from another process, like ``tail -f``, and ends
by itself when the service is deleted."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from cli_harness import build_image, register_model

from emulator import AciWebservice, Webservice, Workspace


def test_follow_prints_new_lines_until_the_service_is_deleted(
    aml_workspace: Workspace, aml_root: Path, workdir: Path, fast_env: None
) -> None:
    register_model(aml_workspace, workdir)
    image = build_image(aml_workspace, workdir, "score_seed_model.py", "follow-img")
    service = Webservice.deploy_from_image(
        aml_workspace, "follow-svc", image, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    follower = subprocess.Popen(
        [sys.executable, "-m", "emulator", "logs", "follow-svc", "--follow"],
        cwd=workdir,
        env={**os.environ, "AZUREML_EMULATOR_ROOT": str(aml_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = _lines(follower)
    try:
        _wait_for_line(lines, "seed-score: init found the model")  # the log so far
        assert service.run("{}")["model"].endswith("model.pkl")
        _wait_for_line(lines, "POST /score 200")  # the request's line, as it is written
        service.delete()
        assert follower.wait(timeout=10) == 0, follower.stderr.read() if follower.stderr else ""
    finally:
        follower.kill()
        follower.wait()


def _wait_for_line(lines: queue.Queue[str], text: str, timeout: float = 10) -> None:
    """Take the follower's lines until one contains ``text``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if text in lines.get(timeout=max(0.0, deadline - time.monotonic())):
                return
        except queue.Empty:
            raise AssertionError(f"no line with {text!r} was followed in {timeout} s") from None


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines, as they come (read by a thread)."""
    found: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stream = process.stdout
    threading.Thread(target=lambda: [found.put(line) for line in stream], daemon=True).start()
    return found

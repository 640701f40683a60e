"""Starting a scoring server in a subprocess on a free port, and raw HTTP exchanges with it.

Responses are read from raw sockets, so tests see the exact status line and header order.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "fixtures" / "scoring" / "server"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


@dataclass
class Reply:
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split()[1])

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def names(self) -> list[str]:
        """Header names in order, without the ones every answer has (Date, Connection)."""
        return [k for k, _ in self.headers if k not in ("Date", "Connection")]


def parse_reply(data: bytes, head_only: bool = False) -> Reply:
    while data.startswith(b"HTTP/1.1 100"):
        data = data.split(b"\r\n\r\n", 1)[1]
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return Reply(lines[0], headers, b"" if head_only else body)  # type: ignore[arg-type]


def exchange(port: int, raw: bytes, timeout: float = 30) -> Reply:
    """Send one raw request on a fresh connection that the server is asked to close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
    return parse_reply(b"".join(chunks), head_only=raw.startswith(b"HEAD "))


def request(
    port: int,
    method: str,
    target: str,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    timeout: float = 30,
) -> Reply:
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: curl/7.88.1"]
    lines += ["Accept: */*", *(f"{k}: {v}" for k, v in pairs)]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    return exchange(port, raw, timeout)


class ServerProcess:
    """``python -m emulator.server`` (azmlinfsrv's flags) with its output kept in files."""

    def __init__(self, workdir: Path, script: str, *flags: str, **env: str) -> None:
        self.workdir = workdir
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")}
        environment.update(env)
        command = [sys.executable, "-m", "emulator.server", "--entry_script", str(SCRIPTS / script)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [*command, "--port", "0", *flags],
                cwd=workdir,
                env=environment,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        self.port = self._wait_for_port()

    def _wait_for_port(self, limit: float = 30) -> int:
        """The bound port, or 0 when the server exited before listening."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.stderr)
            if match:
                return int(match.group(1))
            if self.process.poll() is not None:
                return 0
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"server did not start:\n{self.stdout}\n{self.stderr}")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", self.stderr)]

    def wait_ready(self) -> ServerProcess:
        """Return once the liveness probe answers (it waits for init(), as in Azure)."""
        assert self.port, f"server exited:\n{self.stdout}\n{self.stderr}"
        reply = request(self.port, "GET", "/", timeout=90)
        assert reply.status == 200, (reply, self.stdout, self.stderr)
        return self

    def wait_for_log(self, text: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while text not in self.stdout + self.stderr:
            assert time.monotonic() < deadline, f"{text!r} not logged:\n{self.stdout}{self.stderr}"
            time.sleep(0.05)

    def wait_exit(self, limit: float = 60) -> int:
        return self.process.wait(limit)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL; afterwards no worker of this server may be left running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.worker_pids():
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"worker {pid} outlived its server")
        return self.process.returncode


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False

"""A daemon root driven as users drive it: ``amlemu`` and client scripts in separate processes,
with the variables ``amlemu env`` prints (the ``daemon_root`` fixture of this directory's
conftest gives one per test and stops its daemon afterwards)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from emulator.daemon.lifecycle import process_gone
from emulator.runtime.labels import SERVICE, env_name

#: Variables of the test's own environment that would point a client elsewhere.
CLEAN = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZUREML_CURRENT_CLOUD",
    "AZUREML_EMULATOR_ROOT",
)


@dataclass(frozen=True)
class DaemonRoot:
    """An emulator root and the commands a user runs against it."""

    path: Path
    env: dict[str, str]

    def amlemu(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "emulator", "--root", str(self.path), *args],
            env=self.env,
            cwd=self.path.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def client_env(self) -> dict[str, str]:
        """``eval "$(amlemu env)"`` in a fresh shell."""
        printed = self.amlemu("env")
        assert printed.returncode == 0, printed.stderr
        variables = {}
        for line in printed.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            variables[name] = shlex.split(value)[0]
        return {**self.env, **variables}

    def python(self, script: str, *args: str, timeout: float = 300) -> str:
        """Run ``script`` as a separate client process; its stdout (asserting it succeeded)."""
        done = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", script, *args],
            env=self.client_env(),
            cwd=self.path.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def daemon_pid(self) -> int:
        return int((self.path / "daemon" / "daemon.pid").read_text())

    def port(self) -> int:
        return int((self.path / "daemon" / "daemon.port").read_text())

    @staticmethod
    def hosted_by(owner_pid: int) -> list[int]:
        """Live processes started for ``owner_pid`` (replicas and their workers: the runtime
        labels every process it starts with its owner, and their children inherit it)."""
        label = f"AMLEMU_LABEL_OWNER_PID={owner_pid}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == owner_pid:
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:  # ended meanwhile, or not ours to read
                continue
            if label in environ.split(b"\0") and not process_gone(int(entry.name)):
                found.append(int(entry.name))
        return found

    @staticmethod
    def replicas_of(owner_pid: int) -> list[int]:
        """The processes of :meth:`hosted_by` that serve a service (labelled with it): the
        replicas and their workers. A warm start's zygote (emulator/runtime/zygote.py) is hosted
        too but serves none: it is kept for the next deployment until its host stops."""
        service = f"{env_name(SERVICE)}=".encode()
        found = []
        for pid in DaemonRoot.hosted_by(owner_pid):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:  # ended meanwhile
                continue
            if any(item.startswith(service) for item in environ.split(b"\0")):
                found.append(pid)
        return found

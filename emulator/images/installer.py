"""Installing into an image's virtualenv: uv when it can reach the package index, else pip.

uv is much faster than pip but reads none of pip's configuration. Behind a TLS-intercepting
proxy pip works (its certificate bundle is configured, or it uses the system trust store) while
uv, with its built-in roots, rejects the proxy's certificate. So uv gets the trust pip has
(:func:`uv_environment`), never downloads a Python, and when it still cannot reach the index at
all the build goes on with pip and says so in the build log.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from emulator.images.buildlog import BuildFailed, BuildLog

#: reqwest's words (uv's HTTP client) for a request that never got an answer: connection
#: refused, DNS failure, TLS failure. A 404 or a resolution failure reads differently.
UNREACHABLE_MARKER = "error sending request for url"
#: uv's switch to the platform's trust store, under its older and its newer name.
NATIVE_TLS_VARIABLES = ("UV_NATIVE_TLS", "UV_SYSTEM_CERTS")
#: Where pip's certificate bundle is configured, in pip's order of precedence.
PIP_BUNDLE_VARIABLES = ("PIP_CERT", "REQUESTS_CA_BUNDLE")
_TAIL_LINES = 20
_CAUSE = re.compile(r"(?:cause|Caused by):\s*(.+)")  # uv's newer / older wording


@dataclass(frozen=True)
class ToolRun:
    """How a tool ended: its exit code and the last lines it printed."""

    command: tuple[str, ...]
    returncode: int
    tail: tuple[str, ...]
    #: The tool's first error line, kept when a long traceback pushed it out of ``tail``.
    headline: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def unreachable(self) -> bool:
        """uv could not reach the index (as opposed to reaching it and failing to resolve)."""
        return any(UNREACHABLE_MARKER in line for line in self.tail)

    @property
    def cause(self) -> str:
        """The innermost ``cause:`` uv gave (``Connection refused``, ``UnknownIssuer``, ...)."""
        causes = [match.group(1) for line in self.tail if (match := _CAUSE.search(line))]
        return causes[-1] if causes else (self.tail[-1].strip() if self.tail else "no output")

    def failure(self, step: str, fix: str) -> BuildFailed:
        """The build failure for this run: the tool's errors, then what to do."""
        # pip's errors are one line each; uv's "error:" is followed by the causes: all of it.
        shown = [line for line in self.tail if line.startswith("ERROR:")] or list(self.tail)
        if self.headline is not None and self.headline not in shown:
            shown = [self.headline, "...", *shown]
        return BuildFailed(
            step,
            f"{Path(self.command[0]).name} exited with code {self.returncode}:\n"
            + "\n".join(shown)
            + f"\n{fix}",
        )


def run_logged(
    command: Sequence[str], log: BuildLog | None, env: Mapping[str, str] | None = None
) -> ToolRun:
    """Run a tool, streaming its output into ``log`` (``None``: keep it out of the log)."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    headline = None
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=None if env is None else dict(env),
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if log is not None:
                log.output(line)
            tail.append(line.rstrip())
            if headline is None and line.startswith(("error:", "ERROR:")):
                headline = line.rstrip()
    return ToolRun(tuple(command), process.returncode, tuple(tail), headline)


def uv_environment(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """uv's variables (the trust pip has, no Python downloads) and a line saying which trust.

    ``SSL_CERT_FILE`` replaces uv's roots (measured with uv 0.13: the system store is then not
    consulted), so it is set only where pip has a bundle and the user set no TLS option for uv.
    """
    env = dict(environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    if env.get("SSL_CERT_FILE"):
        return env, f"uv trusts the certificates in SSL_CERT_FILE={env['SSL_CERT_FILE']}"
    if any(env.get(name) for name in NATIVE_TLS_VARIABLES):
        return env, "uv uses its own TLS settings (UV_NATIVE_TLS / UV_SYSTEM_CERTS are set)"
    for name in PIP_BUNDLE_VARIABLES:
        bundle = env.get(name, "")
        if bundle and Path(bundle).is_file():
            env["SSL_CERT_FILE"] = bundle
            return env, f"uv trusts pip's certificate bundle ({name}={bundle})"
    for name in NATIVE_TLS_VARIABLES:
        env[name] = "1"
    return env, "uv trusts the system certificate store (UV_NATIVE_TLS=1)"


class Installer:
    """Installs into one virtualenv with uv, switching to pip for good once uv cannot reach the
    package index (pip reads its own configuration: index, proxy, certificates)."""

    def __init__(self, python: Path, log: BuildLog, uv: str | None) -> None:
        self.python = python
        self.log = log
        self.uv = uv
        self.uv_env, trust = uv_environment(os.environ)
        log.write(trust if uv is not None else "uv is not installed; installing with pip")

    def install(self, arguments: Sequence[str], step: str) -> ToolRun:
        """``pip install arguments`` with the current tool; its run, failed or not."""
        if self.uv is not None:
            run = run_logged(
                [self.uv, "pip", "install", "--compile-bytecode", "--python", str(self.python),
                 *arguments],
                self.log,
                self.uv_env,
            )  # fmt: skip
            if not run.unreachable:
                return run
            self.fall_back_to_pip(run)
        self.ensure_pip(step)
        return run_logged(
            [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *arguments],
            self.log,
        )

    def quiet_uv(self, arguments: Sequence[str]) -> ToolRun | None:
        """Run ``uv arguments`` outside the log; ``None`` when pip is (now) the tool."""
        if self.uv is None:
            return None
        run = run_logged([self.uv, *arguments], None, self.uv_env)
        if run.unreachable:
            self.fall_back_to_pip(run)
            return None
        return run

    def fall_back_to_pip(self, run: ToolRun) -> None:
        self.log.write(
            f"uv could not reach the package index ({run.cause}); installing with pip instead, "
            "which uses its own configuration (index, proxy, certificates)"
        )
        self.uv = None

    def ensure_pip(self, step: str) -> None:
        """A virtualenv made by uv has no pip: bootstrap it offline with ``ensurepip``."""
        probe = subprocess.run(
            [str(self.python), "-I", "-m", "pip", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return
        run = run_logged([str(self.python), "-I", "-m", "ensurepip", "--default-pip"], self.log)
        if not run.ok:
            raise run.failure(
                step,
                "pip is not available in the virtualenv to install with. Install Python's "
                "ensurepip (Debian: the python3-venv package), or give uv access to the "
                "package index.",
            )

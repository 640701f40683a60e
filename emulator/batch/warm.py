"""Batch workers started warm: forked from a zygote of the deployment's image (issue 18).

A cold worker is a fresh interpreter that imports the scoring script's packages (pandas,
scikit-learn, ...) before ``init()``; every worker of every job pays that, and so does each
worker that replaces one killed by ``retry_settings.timeout``. A warm worker is forked from the
session's zygote for the image (:mod:`emulator.runtime.zygote`: the same zygotes, keys and
rule for variables as online replicas), which imported those packages once, found statically
in the script, the modules of its folder and the model's pickles. The fork then runs the image's
``worker.py`` as ``__main__`` with the same arguments and pipes (sent over the zygote's socket)
as a cold ``python worker.py SCRIPT IN OUT``: ``init()`` once, mini-batches over its pipes, its
own session, working directory, variables (the deployment's ``environment_variables`` among
them: the zygote imported under the same ones) and stdout/stderr files.

``AZUREML_EMULATOR_WARM_START=0`` starts every worker cold; when a worker cannot start warm
(the zygote could not start or import, a package started a thread, ...) it starts cold and the
reason is the first line of its stderr file and, once per job, a line of the job's log.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from emulator import settings
from emulator.batch.runtime import WorkerRuntime
from emulator.exceptions import InvalidSetting
from emulator.runtime import zygote
from emulator.runtime.imports import import_candidates, model_candidates
from emulator.runtime.limits import Confinement

#: The descriptors a forked worker gets its pipes on (the zygote places them there).
_REQUEST_FD, _REPLY_FD = 3, 4


class ForkedWorker:
    """A warm worker as :class:`~emulator.batch.workers.WorkerProcess` uses a ``Popen``: its
    pid, and its exit code (as Docker numbers it) from the zygote that forked and reaps it."""

    def __init__(self, owner: zygote.Zygote, pid: int) -> None:
        self._zygote = owner
        self.pid = pid

    @property
    def returncode(self) -> int | None:
        return self._zygote.exit_code(self.pid)

    def poll(self) -> int | None:
        return self._zygote.exit_code(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        code = self._zygote.exit_code(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"batch worker {self.pid}", timeout or 0.0)
        return code


class WarmStarts:
    """How one job's workers start warm; :meth:`fork` gives ``None`` for a cold start."""

    def __init__(
        self,
        runtime: WorkerRuntime,
        script: Path,
        model_dir: Path | None,
        on_fallback: Callable[[str], None] | None = None,
    ) -> None:
        try:
            self.enabled = settings.warm_start()
        except ValueError as exc:
            raise InvalidSetting(str(exc)) from exc
        self._runtime = runtime
        self._script = script
        self._model_dir = model_dir
        self._on_fallback = on_fallback
        self._candidates: list[str] | None = None
        self._lock = threading.Lock()
        self._reported = False

    def fork(
        self,
        worker_file: str | None,
        env: dict[str, str],
        stdout: Path,
        stderr: Path,
        fds: tuple[int, int],
    ) -> ForkedWorker | None:
        """A worker forked with ``fds`` (request read end, reply write end) as its pipes, or
        ``None`` after writing why it must start cold to ``stderr`` (and the job's log)."""
        try:
            if not self.enabled:
                raise zygote.Refused(f"{settings.WARM_START_ENV}=0")
            if worker_file is None:
                raise zygote.Refused("the image's python tree has no emulator/batch/worker.py")
            owner = zygote.zygote_for(str(self._runtime.python), env, self.candidates())
            request = zygote.Request(
                environment=env,
                cwd=str(self._script.parent),
                log_path=stdout,
                confinement=Confinement().to_json(),
                args=[str(self._script), str(_REQUEST_FD), str(_REPLY_FD)],
                main=worker_file,
                stderr_path=stderr,
                fds=fds,
            )
            return ForkedWorker(owner, owner.launch(request))
        except zygote.Refused as exc:
            self._fallback(str(exc), stderr)
            return None

    def candidates(self) -> list[str]:
        """The modules a zygote imports for this script (found once per job)."""
        with self._lock:
            if self._candidates is None:
                found = import_candidates(self._script, [self._script.parent])
                if self._model_dir is not None:
                    found += [m for m in model_candidates(self._model_dir) if m not in found]
                self._candidates = found
            return self._candidates

    def _fallback(self, reason: str, stderr: Path) -> None:
        line = f"[emulator] Cold start (no warm interpreter): {reason}"
        with open(stderr, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        with self._lock:
            first, self._reported = not self._reported, True
        if first and self._on_fallback is not None:
            self._on_fallback(f"Batch workers start cold (no warm interpreter): {reason}")

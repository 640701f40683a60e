"""A batch job run on this machine: input files → mini-batches → worker processes → output.

What Azure's batch deployments do (ParallelRunStep underneath), without a cluster:

- the input files, sorted, are cut into mini-batches of ``mini_batch_size`` files;
- ``max_concurrency_per_instance x instance_count`` workers (at most this machine's CPUs, at
  most one per mini-batch) each call ``init()`` once, then ``run(mini_batch)`` with a list of
  file paths, with ``AZUREML_MODEL_DIR`` (the model's folder) and ``AZUREML_BI_OUTPUT_PATH``
  (the job's output folder) set, plus the deployment's ``environment_variables``;
- a mini-batch whose ``run()`` raises, returns something else than rows, outlives
  ``retry_settings.timeout`` or whose worker dies is tried again, up to ``max_retries`` tries in
  all (a worker that timed out or died is replaced first); then its files count as failed;
- once more files failed than ``error_threshold`` (``-1``: no limit) the job stops, ``Failed``;
- ``append_row`` writes every row ``run()`` returned into ``output_file_name`` in the output
  folder when the job completes (mini-batches in the order they finished, as Azure's); with
  ``summary_only`` nothing is written there;
- the job is ``Preparing`` until a worker's ``init()`` returned, then ``Running``, and ends
  ``Completed``, ``Failed`` (with Azure's message) or ``Canceled``.

The log files are those of :mod:`emulator.batch.logs`. Workers are forked from a warm
interpreter of the image when they can (:mod:`emulator.batch.warm`; a cold start is logged).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emulator.batch.logs import JobLogs, node_name, process_name
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import APPEND_ROW, BatchSettings
from emulator.batch.warm import WarmStarts
from emulator.batch.worker import LOGGING_LEVEL_ENV
from emulator.batch.workers import Outcome, WorkerProcess
from emulator.exceptions import BadArgument, EmulatorError

PREPARING, RUNNING, COMPLETED, FAILED, CANCELED = (
    "Preparing",
    "Running",
    "Completed",
    "Failed",
    "Canceled",
)
TERMINAL = (COMPLETED, FAILED, CANCELED)


@dataclass(frozen=True)
class BatchTask:
    """What a batch job runs: the deployment's image and script, on which files, into where."""

    runtime: WorkerRuntime
    scoring_script: Path
    model_dir: Path | None
    inputs: Sequence[Path]
    #: The job's folder: ``logs/`` go under it.
    job_dir: Path
    #: The ``score`` output's folder (``AZUREML_BI_OUTPUT_PATH``).
    output_dir: Path
    settings: BatchSettings


@dataclass(frozen=True)
class JobProgress:
    total_mini_batches: int
    succeeded: int
    failed: int
    total_items: int
    failed_items: int


@dataclass
class _MiniBatch:
    index: int
    files: list[str]
    tries: int = 0


def list_input_files(paths: Sequence[Path]) -> list[Path]:
    """The files of a job's inputs: files as given, folders' files (recursively), sorted;
    :class:`~emulator.exceptions.BadArgument` naming a path that does not exist."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            raise BadArgument(
                f"The job's input {path} does not exist. [emulator] Name a file or a folder.",
                code="UserError",
            )
    return files


def start_job(task: BatchTask, on_log: Callable[[str], None] | None = None) -> BatchJob:
    """Start ``task`` in background threads; the job is returned at once (``Preparing``)."""
    if not task.scoring_script.is_file():
        raise BadArgument(
            f"The scoring script {task.scoring_script} does not exist. [emulator] Name a file "
            "of the deployment's code_configuration.code in scoring_script.",
            code="UserError",
        )
    job = BatchJob(task, on_log)
    job._start()
    return job


class BatchJob:
    """A running or finished batch job (see the module docstring)."""

    def __init__(self, task: BatchTask, on_log: Callable[[str], None] | None) -> None:
        self.task = task
        self.settings = task.settings
        self._warm = WarmStarts(
            task.runtime, task.scoring_script, task.model_dir, lambda line: self.logs.line(line)
        )
        task.output_dir.mkdir(parents=True, exist_ok=True)
        self.logs = JobLogs(task.job_dir, on_log)
        files = [str(path) for path in list_input_files(task.inputs)]
        size = self.settings.mini_batch_size
        self._pending = deque(
            _MiniBatch(i, files[start : start + size])
            for i, start in enumerate(range(0, len(files), size))
        )
        self._total = len(self._pending)
        self._total_items = len(files)
        self._lock = threading.Condition()
        self._status = PREPARING
        self._error: str | None = None
        self._in_flight = 0
        self._succeeded = 0
        self._failed = 0
        self._failed_items = 0
        self._rows: list[str] = []
        self._workers: dict[int, WorkerProcess] = {}
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()

    # ----- what faces read -----

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def error(self) -> str | None:
        with self._lock:
            return self._error

    @property
    def done(self) -> bool:
        """Whether the job ended and its workers are gone."""
        return self._done.is_set()

    @property
    def output_file(self) -> Path | None:
        if self.settings.output_action != APPEND_ROW:
            return None
        return self.task.output_dir / self.settings.output_file_name

    def progress(self) -> JobProgress:
        with self._lock:
            return JobProgress(
                self._total, self._succeeded, self._failed, self._total_items, self._failed_items
            )

    def lines(self, start: int = 0) -> list[str]:
        """The job's log lines from ``start`` on (``jobs.stream`` polls this)."""
        return self.logs.lines(start)

    def wait(self, timeout: float | None = None) -> str:
        self._done.wait(timeout)
        return self.status

    def cancel(self) -> None:
        """Stop the job: its workers are killed, nothing more runs, the status is ``Canceled``."""
        if self._finish(CANCELED, None):
            self.logs.line("Job canceled: the workers were stopped.")

    # ----- running -----

    def _start(self) -> None:
        count = min(self.settings.workers, os.cpu_count() or 1, max(self._total, 1))
        self.logs.line(
            f"Job started: {self._total_items} items in {self._total} mini batches of up to "
            f"{self.settings.mini_batch_size}; {count} worker processes "
            f"({self.settings.instance_count} instances x "
            f"{self.settings.max_concurrency_per_instance} per instance"
            + (", bounded by this machine's CPUs)." if count < self.settings.workers else ").")
        )
        self.logs.progress(self._total, 0, 0, 0)
        if self._total == 0:
            self._complete()
            self._done.set()
            return
        per_node = self.settings.max_concurrency_per_instance
        for slot in range(count):
            node, process = node_name(slot // per_node), process_name(slot % per_node)
            thread = threading.Thread(
                target=self._serve,
                args=(slot, node, process),
                name=f"amlemu-batch-{node}-{process}",
                daemon=True,
            )
            self._threads.append(thread)
        threading.Thread(target=self._supervise, name="amlemu-batch-job", daemon=True).start()

    def _supervise(self) -> None:
        for thread in self._threads:
            thread.start()
        for thread in self._threads:
            thread.join()
        try:
            self._complete()
        except Exception as exc:  # ended means a final status: never done while Running
            self._fail(f"Writing the job's output failed: {exc!r}")
        finally:
            self._done.set()

    def _environment(self) -> dict[str, str]:
        extra = {
            "AZUREML_BI_OUTPUT_PATH": str(self.task.output_dir),
            LOGGING_LEVEL_ENV: self.settings.logging_level,
            **self.settings.environment_variables,
        }
        if self.task.model_dir is not None:
            extra["AZUREML_MODEL_DIR"] = str(self.task.model_dir)
        return self.task.runtime.environment(extra)

    def _spawn(self, slot: int, node: str, process: str) -> WorkerProcess | None:
        """A worker whose ``init()`` returned; ``None`` when the job ended meanwhile or
        ``init()`` failed (which fails the job)."""
        worker = WorkerProcess(
            self.task.runtime,
            self.task.scoring_script,
            self._environment(),
            self.logs.stdout(node, process),
            self.logs.stderr(node, process),
            self._warm,
        )
        with self._lock:
            if self._status in TERMINAL:
                worker.kill()
                return None
            self._workers[slot] = worker
        failure = worker.ready()
        if failure is not None:
            worker.kill()
            if self.status in TERMINAL:
                return None
            self.logs.mini_batch_error(node, process, -1, 0, [], f"init() failed:\n{failure}")
            self._fail(
                f"The scoring script's init() failed in {node}/{process}: "
                f"{_last_line(failure)} See logs/user/error/{node}/{process}.txt."
            )
            return None
        with self._lock:
            if self._status == PREPARING:
                self._status = RUNNING
        self.logs.line(f"{node}/{process} (pid {worker.pid}): init() returned.")
        return worker

    def _serve(self, slot: int, node: str, process: str) -> None:
        """One worker slot: take mini-batches until none is left, replacing a dead worker."""
        worker: WorkerProcess | None = None
        try:
            while True:
                batch = self._next()
                if batch is None:
                    return
                if worker is None:
                    worker = self._spawn(slot, node, process)
                    if worker is None:
                        self._give_back(batch)
                        return
                batch.tries += 1
                started = time.monotonic()
                outcome = worker.run(batch.index, batch.files, self.settings.timeout)
                if outcome.kind in ("timeout", "died"):
                    worker = None  # killed by run(); the next mini-batch starts a new one
                self._record(batch, outcome, node, process, time.monotonic() - started)
        except Exception as exc:  # a slot must never end silently: the others would wait on it
            reason = exc.message if isinstance(exc, EmulatorError) else repr(exc)
            self._fail(f"The batch worker {node}/{process} could not run: {reason}")
        finally:
            if worker is not None:
                worker.close()

    def _next(self) -> _MiniBatch | None:
        """The next mini-batch to run; ``None`` once the job ended or nothing is left (one in
        flight elsewhere may still come back for a retry, so wait for it)."""
        with self._lock:
            while True:
                if self._status in TERMINAL:
                    return None
                if self._pending:
                    self._in_flight += 1
                    return self._pending.popleft()
                if self._in_flight == 0:
                    return None
                self._lock.wait()

    def _give_back(self, batch: _MiniBatch) -> None:
        with self._lock:
            self._in_flight -= 1
            self._pending.appendleft(batch)
            self._lock.notify_all()

    def _record(
        self, batch: _MiniBatch, outcome: Outcome, node: str, process: str, seconds: float
    ) -> None:
        if self.status in TERMINAL:
            return
        items = len(batch.files)
        if outcome.kind == "ok":
            with self._lock:
                self._in_flight -= 1
                self._succeeded += 1
                self._rows.extend(outcome.rows)
                self._lock.notify_all()
            self.logs.processed(
                (batch.index, "succeeded", batch.tries, items, node, process, f"{seconds:.3f}")
            )
        else:
            self.logs.mini_batch_error(
                node, process, batch.index, batch.tries, batch.files, outcome.error
            )
            retry = batch.tries < self.settings.max_retries
            with self._lock:
                self._in_flight -= 1
                if retry:
                    self._pending.append(batch)
                else:
                    self._failed += 1
                    self._failed_items += items
                self._lock.notify_all()
            if retry:
                self.logs.line(
                    f"Mini batch {batch.index} failed on try {batch.tries} of "
                    f"{self.settings.max_retries} ({outcome.kind}); it runs again."
                )
                return
            reason = _last_line(outcome.error)
            self.logs.failed_mini_batch(batch.index, batch.tries, items, reason)
            self.logs.processed(
                (batch.index, "failed", batch.tries, items, node, process, f"{seconds:.3f}")
            )
            self.logs.line(f"Mini batch {batch.index} failed after {batch.tries} tries: {reason}")
        progress = self.progress()
        self.logs.progress(
            progress.total_mini_batches, progress.succeeded, progress.failed, progress.failed_items
        )
        threshold = self.settings.error_threshold
        if threshold != -1 and progress.failed_items > threshold:
            self._fail(
                f"The number of failed items ({progress.failed_items}) exceeded the "
                f"error_threshold ({threshold}) of the deployment: the job was stopped. See "
                "logs/job_error.txt and logs/user/error/ for the mini batches that failed."
            )

    def _fail(self, message: str) -> None:
        if self._finish(FAILED, message):
            self.logs.line(f"Job failed: {message}")
            self.logs.result(f"Job failed.\n{message}")

    def _complete(self) -> None:
        with self._lock:
            if self._status in TERMINAL:
                return
            rows = list(self._rows)
        output = self.output_file
        if output is not None:
            partial = output.with_name(output.name + ".partial")
            partial.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
            partial.replace(output)
        progress = self.progress()
        summary = (
            f"{progress.succeeded} of {progress.total_mini_batches} mini batches succeeded; "
            f"{progress.failed_items} of {progress.total_items} items failed."
        )
        if self._finish(COMPLETED, None):
            self.logs.result(f"Job succeeded.\n{summary}")
            self.logs.line(f"Job completed: {summary}")

    def _finish(self, status: str, error: str | None) -> bool:
        """End the job once (the first ending wins); stop every worker."""
        with self._lock:
            if self._status in TERMINAL:
                return False
            self._status, self._error = status, error
            workers = list(self._workers.values())
            self._lock.notify_all()
        for worker in workers:
            worker.stop()
        return True


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text

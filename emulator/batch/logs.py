"""A batch job's log files, where Azure's batch jobs (ParallelRunStep) put them.

Under the job's folder::

    logs/job_progress_overview.<YYYYMMDDHH>.txt   mini-batches created / processed, as they go
    logs/job_result.txt                           how the job ended
    logs/job_error.txt                            the failed mini-batches, one line each
    logs/sys/master_role.txt                      the orchestrator's lines (what jobs.stream shows)
    logs/sys/job_report/processed_mini-batches.csv   one row per processed mini-batch
    logs/user/stdout/<node>/<process>.stdout.txt  a worker's stdout (print() in init/run)
    logs/user/stderr/<node>/<process>.stderr.txt  a worker's stderr (logging, warnings)
    logs/user/error/<node>/<process>.txt          each mini-batch that failed in that worker:
                                                  its files, the try, the traceback
    logs/user/error.txt                           the failures of every worker, in one file
    user_logs/std_log.txt                         the job step's driver output: the same lines
                                                  as master_role.txt (the file jobs.stream reads
                                                  of a job on Azure's common runtime)

Nodes are named as Azure's are, by an instance's private address (``10.0.0.4``, ``10.0.0.5``,
...); a node's workers are ``process000``, ``process001``, ... A worker replaced after it died
or timed out keeps its name and appends to its files.
"""

from __future__ import annotations

import csv
import datetime
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

#: The header of ``processed_mini-batches.csv``.
REPORT_HEADER = ("mini_batch_id", "status", "tries", "items", "node", "process", "seconds")


def node_name(instance: int) -> str:
    """Instance ``instance``'s node folder: its private address, as Azure names it."""
    return f"10.0.0.{4 + instance}"


def process_name(slot: int) -> str:
    return f"process{slot:03d}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class JobLogs:
    """Writes one job's log files; thread-safe (every worker's thread reports here)."""

    def __init__(self, job_dir: Path, on_line: Callable[[str], None] | None = None) -> None:
        self.root = job_dir / "logs"
        self._on_line = on_line
        self._lock = threading.Lock()
        self._lines: list[str] = []
        for folder in ("sys/job_report", "user/stdout", "user/stderr", "user/error"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        self.progress_file = self.root / f"job_progress_overview.{_now():%Y%m%d%H}.txt"
        self.master_file = self.root / "sys" / "master_role.txt"
        self.std_log_file = job_dir / "user_logs" / "std_log.txt"
        self.std_log_file.parent.mkdir(parents=True, exist_ok=True)
        self.report_file = self.root / "sys" / "job_report" / "processed_mini-batches.csv"
        self.result_file = self.root / "job_result.txt"
        self.job_error_file = self.root / "job_error.txt"
        self.user_error_file = self.root / "user" / "error.txt"
        with open(self.report_file, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(REPORT_HEADER)

    def stdout(self, node: str, process: str) -> Path:
        path = self.root / "user" / "stdout" / node / f"{process}.stdout.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def stderr(self, node: str, process: str) -> Path:
        path = self.root / "user" / "stderr" / node / f"{process}.stderr.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def line(self, message: str) -> None:
        """An orchestrator line: ``master_role.txt``, :meth:`lines` and the job's listener."""
        text = f"{_now():%Y-%m-%d %H:%M:%S,%f}"[:-3] + f" INFO {message}"
        with self._lock:
            self._lines.append(text)
            append_line(self.master_file, text)
            append_line(self.std_log_file, text)
        if self._on_line is not None:
            self._on_line(text)

    def lines(self, start: int = 0) -> list[str]:
        with self._lock:
            return self._lines[start:]

    def progress(self, created: int, succeeded: int, failed: int, items_failed: int) -> None:
        processed = succeeded + failed
        text = (
            f"{_now():%Y-%m-%d %H:%M:%S} {created} mini batches created; {processed} processed "
            f"({succeeded} succeeded, {failed} failed; {items_failed} items failed)."
        )
        with self._lock:
            append_line(self.progress_file, text)

    def processed(self, row: Sequence[object]) -> None:
        with self._lock, open(self.report_file, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(row)

    def mini_batch_error(
        self,
        node: str,
        process: str,
        mini_batch: int,
        attempt: int,
        files: Sequence[str],
        error: str,
    ) -> None:
        """One failed try of a mini-batch: in the worker's error file and in ``error.txt``."""
        text = (
            f"{_now():%Y-%m-%d %H:%M:%S} mini batch {mini_batch}, try {attempt}, "
            f"{len(files)} items: {list(files)}\n{error.rstrip()}\n"
        )
        path = self.root / "user" / "error" / node / f"{process}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            append_line(path, text)
            append_line(self.user_error_file, f"[{node}/{process}] {text}")

    def failed_mini_batch(self, mini_batch: int, tries: int, items: int, reason: str) -> None:
        with self._lock:
            append_line(
                self.job_error_file,
                f"mini batch {mini_batch} failed after {tries} tries ({items} items): {reason}",
            )

    def result(self, text: str) -> None:
        with self._lock:
            self.result_file.write_text(text.rstrip() + "\n", encoding="utf-8")


def append_line(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` as one line (whatever newline it ended with)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")

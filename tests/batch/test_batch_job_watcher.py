"""The watcher that keeps a batch job's record at the engine's status
(:func:`emulator.state.batch_runs.follow`) ends with the job's final status however the job's
end interleaves with its reads.

A job once read ``Running`` forever: the watcher read the status, the job ended, the watcher
read "ended" and stopped with ``Running`` stored. The engine here is a fake that ends the job
after the watcher's k-th read of it, for every k, so every interleaving is tried, in order, with
no timing involved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.endpoints.batch_jobs import BatchJobs
from emulator.state.batch_runs import follow
from emulator.store.root import EmulatorRoot


class _EndsAfterReads:
    """A running job (the watcher's view of :class:`emulator.batch.engine.BatchJob`) that ends
    with ``final`` after the watcher's ``reads``-th look at it and reads as ended two looks
    later: as in the engine, the final status is decided, the last log lines are written, then
    the job is marked ended."""

    def __init__(self, reads: int, final: str, error: str | None) -> None:
        self._left = reads
        self._final, self._final_error = final, error
        self._status, self._error, self._ended = "Running", None, False
        self.canceled = False

    def _look(self) -> None:
        if self._left == 0:
            self._status, self._error = self._final, self._final_error
        if self._left == -2:
            self._ended = True
        self._left -= 1

    def wait(self, timeout: float | None = None) -> str:
        status = self._status
        self._look()
        return status

    @property
    def done(self) -> bool:
        ended = self._ended
        self._look()
        return ended

    @property
    def status(self) -> str:
        status = self._status
        self._look()
        return status

    @property
    def error(self) -> str | None:
        error = self._error
        self._look()
        return error

    def cancel(self) -> None:
        self.canceled = True


class _Recording(BatchJobs):
    """The job records, noting each status stored and whether the job had ended then."""

    def __init__(self, root: EmulatorRoot, running: _EndsAfterReads) -> None:
        super().__init__(root, workspace_id=1)
        self.running = running
        self.stored: list[tuple[str, bool]] = []

    def set_status(self, name: str, status: str, error: str | None = None) -> None:
        self.stored.append((status, self.running._ended))
        super().set_status(name, status, error)


@pytest.mark.parametrize("reads", range(12))
@pytest.mark.parametrize(
    ("final", "error"), [("Completed", None), ("Failed", "The number of failed items (2) ...")]
)
def test_the_record_ends_with_the_final_status_whenever_the_job_ends(
    tmp_path: Path, reads: int, final: str, error: str | None
) -> None:
    running = _EndsAfterReads(reads, final, error)
    jobs = _Recording(EmulatorRoot(tmp_path), running)
    job = jobs.create("j1", "bep", "d", {"in": {"uri": "x"}}, str(tmp_path / "{name}"))
    published: list[str] = []

    follow(running, jobs, job.name, lambda: published.append(jobs.get(job.name).status))  # type: ignore[arg-type]

    stored = jobs.get(job.name)
    assert (stored.status, stored.error) == (final, error)
    # A completed job's outputs are published once, before its record reads Completed.
    assert len(published) == (1 if final == "Completed" else 0)
    assert "Completed" not in published
    assert not running.canceled
    # The final status is stored only once the job ended (its last log lines written).
    assert [ended for status, ended in jobs.stored if status == final] == [True]


class _EndsWithoutStatus(_EndsAfterReads):
    """An engine that marks the job ended while its status is still ``Running``."""

    def _look(self) -> None:
        self._ended = True


def test_an_engine_that_ends_without_a_final_status_leaves_the_job_failed(
    tmp_path: Path,
) -> None:
    jobs = BatchJobs(EmulatorRoot(tmp_path), workspace_id=1)
    jobs.create("j1", "bep", "d", {"in": {"uri": "x"}}, str(tmp_path / "{name}"))
    follow(_EndsWithoutStatus(0, "Running", None), jobs, "j1", lambda: None)  # type: ignore[arg-type]
    stored = jobs.get("j1")
    assert stored.status == "Failed"
    assert "stopped with the job Running" in (stored.error or "")

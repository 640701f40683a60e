"""Helpers for driving the batch engine directly: a scoring script, input files, a job."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.batch.engine import BatchJob, BatchTask, start_job
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import BatchSettings

#: Seconds a test waits for a job of a few tiny mini-batches (each worker starts Python once).
JOB_WAIT = 120.0

RunJob = Callable[..., BatchJob]


@pytest.fixture
def run_job(tmp_path: Path) -> RunJob:
    """``run_job(script_source, files={name: text}, **settings)``: the job, started; pass
    ``wait=False`` to get it running."""

    def run(
        source: str,
        files: dict[str, str] | None = None,
        wait: bool = True,
        runtime: WorkerRuntime | None = None,
        **settings: object,
    ) -> BatchJob:
        code = tmp_path / "code"
        code.mkdir(exist_ok=True)
        script = code / "score.py"
        script.write_text(textwrap.dedent(source), encoding="utf-8")
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        for name, text in (files or {"a.txt": "1"}).items():
            (data / name).write_text(text, encoding="utf-8")
        model = tmp_path / "model"
        model.mkdir(exist_ok=True)
        (model / "weights.txt").write_text("7", encoding="utf-8")
        task = BatchTask(
            runtime=runtime or WorkerRuntime.current(),
            scoring_script=script,
            model_dir=model,
            inputs=[data],
            job_dir=tmp_path / "job",
            output_dir=tmp_path / "job" / "outputs" / "score",
            settings=BatchSettings(**settings),  # type: ignore[arg-type]
        )
        job = start_job(task)
        if wait:
            job.wait(JOB_WAIT)
            assert job.done, f"the job did not end within {JOB_WAIT} s: {job.lines()}"
        return job

    return run


def numbered(count: int) -> dict[str, str]:
    """``count`` input files ``f000.txt``... holding their number."""
    return {f"f{i:03d}.txt": str(i) for i in range(count)}

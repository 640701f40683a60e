"""Batch workers forked from a warm interpreter of the image (issue 18): the same job as a cold
one, the script's third-party package imported once (in the zygote, under the deployment's
variables), a worker killed by the timeout replaced warm, the opt-out, and a cold start's
reason where the user reads it.

The image's third-party packages are packages of a ``site-packages`` folder on the runtime's
path (what the zygote imports ahead): ``heavypkg`` records which process imported it and the
``OMP_NUM_THREADS`` it saw then; ``threadpkg`` starts a thread at import.
"""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

from emulator.batch.engine import BatchJob, BatchTask, start_job
from emulator.batch.runtime import WorkerRuntime
from emulator.batch.settings import BatchSettings
from emulator.batch.workers import WorkerProcess
from emulator.exceptions import InvalidSetting
from emulator.settings import WARM_START_ENV
from tests.batch.conftest import JOB_WAIT, numbered

REPO = Path(__file__).resolve().parents[2]
COLD_LINE = "[emulator] Cold start (no warm interpreter): "

SCRIPT = """
    import atexit, os
    from pathlib import Path

    import heavypkg

    def init():
        global weights
        atexit.register(Path(os.environ["AZUREML_BI_OUTPUT_PATH"], f"exited-{os.getpid()}").touch)
        weights = Path(os.environ["AZUREML_MODEL_DIR"], "weights.txt").read_text()
        print("init", os.getpid(), os.getppid(), heavypkg.IMPORTED_IN, flush=True)

    def run(mini_batch):
        marker = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "slow")
        if os.environ.get("FIRST_TRY_HANGS") and not marker.exists():
            marker.touch()
            import time
            time.sleep(600)
        return [
            f"{Path(f).name} {Path(f).read_text()} {weights} {heavypkg.OMP} "
            f"{os.environ.get('GREETING')}"
            for f in mini_batch
        ]
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> WorkerRuntime:
    """This interpreter with the emulator and a ``site-packages`` of the two packages."""
    site = tmp_path_factory.mktemp("image") / "site-packages"
    (site / "heavypkg").mkdir(parents=True)
    (site / "heavypkg" / "__init__.py").write_text(
        "import os\nIMPORTED_IN = os.getpid()\nOMP = os.environ.get('OMP_NUM_THREADS')\n"
    )
    (site / "threadpkg").mkdir()
    (site / "threadpkg" / "__init__.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(3600,), name='pkg-poller', daemon=True)"
        ".start()\n"
    )
    return WorkerRuntime(Path(sys.executable), (REPO, site))


def _run(
    work: Path, runtime: WorkerRuntime, source: str = SCRIPT, files: int = 6, **settings: object
) -> BatchJob:
    script = work / "code" / "score.py"
    script.parent.mkdir(parents=True)
    script.write_text(textwrap.dedent(source))
    (work / "model").mkdir()
    (work / "model" / "weights.txt").write_text("7")
    (work / "data").mkdir()
    for name, text in numbered(files).items():
        (work / "data" / name).write_text(text)
    task = BatchTask(
        runtime=runtime,
        scoring_script=script,
        model_dir=work / "model",
        inputs=[work / "data"],
        job_dir=work / "job",
        output_dir=work / "job" / "score",
        settings=BatchSettings(**settings),  # type: ignore[arg-type]
    )
    job = start_job(task)
    job.wait(JOB_WAIT)
    assert job.done, f"the job did not end within {JOB_WAIT} s: {job.lines()}"
    assert job.status == "Completed", job.lines()
    return job


def _worker_logs(job: BatchJob, kind: str) -> list[str]:
    folder = job.task.job_dir / "logs" / "user" / kind
    return [path.read_text() for path in sorted(folder.rglob("*.txt"))]


def _inits(job: BatchJob) -> list[tuple[int, int, int]]:
    """(pid, parent pid, pid that imported heavypkg) of each init() the job ran."""
    return [
        (int(fields[1]), int(fields[2]), int(fields[3]))
        for text in _worker_logs(job, "stdout")
        for fields in (line.split() for line in text.splitlines())
        if fields and fields[0] == "init"
    ]


def _rows(job: BatchJob) -> list[str]:
    assert job.output_file is not None
    return sorted(job.output_file.read_text().splitlines())


def test_a_warm_job_writes_what_a_cold_one_does_its_package_imported_once_ahead(
    runtime: WorkerRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"mini_batch_size": 2, "max_concurrency_per_instance": 2}
    monkeypatch.setenv(WARM_START_ENV, "0")
    cold = _run(tmp_path / "cold", runtime, **settings)
    monkeypatch.delenv(WARM_START_ENV)
    warm = _run(tmp_path / "warm", runtime, **settings)

    assert _rows(warm) == _rows(cold) == [f"f{i:03d}.txt {i} 7 None None" for i in range(6)]
    for pid, parent, imported_in in _inits(cold):
        assert parent == os.getpid() and imported_in == pid  # a fresh interpreter imported it
    warm_inits = _inits(warm)
    assert warm_inits
    for pid, parent, imported_in in warm_inits:
        # Forked from the zygote that imported the package before the job started.
        assert parent != os.getpid() and imported_in == parent != pid
        # A worker that ends runs its atexit functions, as a fresh interpreter's exit does.
        assert (warm.task.output_dir / f"exited-{pid}").is_file()
    # The opt-out: each cold worker's stderr starts with the reason, and the job says it once.
    assert all(
        text.startswith(COLD_LINE + "AZUREML_EMULATOR_WARM_START=0")
        for text in _worker_logs(cold, "stderr")
    )
    assert [line for line in cold.lines() if "start cold" in line]
    assert not any(COLD_LINE in text for text in _worker_logs(warm, "stderr"))
    assert not [line for line in warm.lines() if "start cold" in line]


def test_the_deployments_variables_are_there_when_the_package_is_imported(
    runtime: WorkerRuntime, tmp_path: Path
) -> None:
    one = _run(
        tmp_path / "one",
        runtime,
        files=1,
        environment_variables={"OMP_NUM_THREADS": "1", "GREETING": "hello"},
    )
    two = _run(tmp_path / "two", runtime, files=1, environment_variables={"OMP_NUM_THREADS": "2"})
    assert _rows(one) == ["f000.txt 0 7 1 hello"]
    assert _rows(two) == ["f000.txt 0 7 2 None"]
    (_, zygote_one, _), (_, zygote_two, _) = _inits(one) + _inits(two)
    assert zygote_one != zygote_two != os.getpid()  # one zygote per value, each warm


def test_a_worker_killed_by_the_timeout_is_replaced_by_a_warm_one(
    runtime: WorkerRuntime, tmp_path: Path
) -> None:
    job = _run(
        tmp_path, runtime, files=1, timeout=1.0, environment_variables={"FIRST_TRY_HANGS": "1"}
    )
    errors = (job.task.job_dir / "logs" / "user" / "error.txt").read_text()
    assert "did not return within retry_settings.timeout (1 s)" in errors
    (first, parent, _), (second, parent_again, imported_in) = _inits(job)
    assert first != second
    assert parent == parent_again == imported_in != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # killed, and reaped by the zygote


def test_a_cold_start_names_its_reason_in_the_worker_log_and_the_jobs(
    runtime: WorkerRuntime, tmp_path: Path
) -> None:
    source = """
        import threadpkg

        def init():
            pass

        def run(mini_batch):
            return ["scored"]
    """
    job = _run(tmp_path, runtime, source, files=1)
    assert _rows(job) == ["scored"]
    reason = "importing the script's packages started Python threads (pkg-poller)"
    (stderr,) = _worker_logs(job, "stderr")
    assert stderr.startswith(COLD_LINE + reason)
    assert any(
        f"Batch workers start cold (no warm interpreter): {reason}" in line for line in job.lines()
    )


def test_a_warm_start_switch_that_is_not_one_is_refused(
    runtime: WorkerRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WARM_START_ENV, "sometimes")
    with pytest.raises(InvalidSetting, match="AZUREML_EMULATOR_WARM_START='sometimes'"):
        _run(tmp_path, runtime, files=1)


def test_a_worker_whose_warm_start_breaks_leaves_no_pipe_open(tmp_path: Path) -> None:
    """An unexpected error out of the warm start (not a refusal) reaches the engine, and the
    worker's four pipe ends are closed: a job that retries does not run out of descriptors."""

    class Broken:
        def fork(self, *args: object) -> None:
            raise RuntimeError("zygote bookkeeping bug")

    def pipes() -> set[str]:
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith("pipe:"):
                    found.add(f"{fd}={target}")
        return found

    before = pipes()
    with pytest.raises(RuntimeError, match="zygote bookkeeping bug"):
        WorkerProcess(
            WorkerRuntime(Path(sys.executable)),
            tmp_path / "score.py",
            dict(os.environ),
            tmp_path / "out.txt",
            tmp_path / "err.txt",
            warm=Broken(),  # type: ignore[arg-type]
        )
    assert pipes() == before

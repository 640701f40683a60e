"""The batch engine run directly: mini-batches in worker processes, outputs, retries, errors,
the error threshold, dead workers, cancel, and the log files where Azure puts them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from emulator.batch.runtime import WorkerRuntime
from tests.batch.conftest import JOB_WAIT, RunJob, numbered

#: A scoring script answering one row per file: "<file name> <content> <worker pid>".
ECHO = """
    import os
    from pathlib import Path

    def init():
        global weights
        weights = Path(os.environ["AZUREML_MODEL_DIR"], "weights.txt").read_text()
        print("init in", os.getpid(), flush=True)

    def run(mini_batch):
        print("run", len(mini_batch), flush=True)
        return [f"{Path(f).name} {Path(f).read_text()} {weights} {os.getpid()}" for f in mini_batch]
"""


def _logs(job_dir: Path) -> Path:
    return job_dir / "logs"


def test_append_row_writes_one_row_per_returned_element(run_job: RunJob) -> None:
    job = run_job(ECHO, numbered(25), mini_batch_size=10, output_file_name="out.csv")
    assert job.status == "Completed", job.lines()
    assert job.output_file == job.task.output_dir / "out.csv"
    rows = job.output_file.read_text().splitlines()
    assert sorted(row.rsplit(" ", 1)[0] for row in rows) == [
        f"f{i:03d}.txt {i} 7" for i in range(25)
    ]
    progress = job.progress()
    assert (progress.total_mini_batches, progress.succeeded, progress.failed) == (3, 3, 0)
    stdout = _logs(job.task.job_dir) / "user/stdout/10.0.0.4/process000.stdout.txt"
    assert stdout.read_text().count("init in") == 1  # init() once for the worker's 3 batches
    assert stdout.read_text().count("run ") == 3
    result = (_logs(job.task.job_dir) / "job_result.txt").read_text()
    assert "Job succeeded" in result
    driver = (job.task.job_dir / "user_logs/std_log.txt").read_text().splitlines()
    assert (
        driver
        == job.lines()
        == (_logs(job.task.job_dir) / "sys/master_role.txt").read_text().splitlines()
    )
    assert "Job completed: 3 of 3 mini batches succeeded" in driver[-1]
    overview = next(_logs(job.task.job_dir).glob("job_progress_overview.*.txt")).read_text()
    assert "3 mini batches created; 3 processed (3 succeeded, 0 failed" in overview


def test_workers_run_in_parallel_each_calling_init_once(run_job: RunJob) -> None:
    # Each mini-batch waits until two different workers have started one: only a second
    # worker running at the same time lets the job finish.
    source = """
        import os, time
        from pathlib import Path

        def init():
            print("init", os.getpid(), flush=True)

        def run(mini_batch):
            seen = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "seen")
            seen.mkdir(exist_ok=True)
            (seen / str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while len(list(seen.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            return [f"{os.getpid()} {len(list(seen.iterdir()))}" for _ in mini_batch]
    """
    job = run_job(source, numbered(4), mini_batch_size=1, max_concurrency_per_instance=2)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    rows = job.output_file.read_text().splitlines()
    assert len(rows) == 4 and all(row.endswith(" 2") for row in rows)
    stdouts = sorted((_logs(job.task.job_dir) / "user/stdout/10.0.0.4").iterdir())
    assert [p.name for p in stdouts] == ["process000.stdout.txt", "process001.stdout.txt"]
    assert all(p.read_text().count("init") == 1 for p in stdouts)


def test_instances_are_nodes_of_their_own(run_job: RunJob) -> None:
    job = run_job(ECHO, numbered(4), mini_batch_size=1, instance_count=2)
    assert job.status == "Completed", job.lines()
    stdout = _logs(job.task.job_dir) / "user/stdout"
    assert sorted(p.name for p in stdout.iterdir()) == ["10.0.0.4", "10.0.0.5"]


def test_summary_only_writes_no_rows(run_job: RunJob) -> None:
    job = run_job(ECHO, numbered(3), output_action="summary_only")
    assert job.status == "Completed", job.lines()
    assert job.output_file is None
    assert list(job.task.output_dir.iterdir()) == []
    assert job.progress().succeeded == 1


def test_a_dataframe_return_writes_its_rows_space_separated_without_header(
    run_job: RunJob,
) -> None:
    pytest.importorskip("pandas")  # the workers run in this interpreter
    source = """
        import pandas as pd
        from pathlib import Path

        def init():
            pass

        def run(mini_batch):
            names = [Path(f).name for f in mini_batch]
            return pd.DataFrame({"file": names, "label": ["a b", "c"]})
    """
    job = run_job(source, numbered(2), mini_batch_size=2)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    assert job.output_file.read_text() == 'f000.txt "a b"\nf001.txt c\n'


def test_a_list_return_needs_no_pandas_and_an_empty_list_writes_nothing(run_job: RunJob) -> None:
    source = """
        import sys

        def init():
            assert "pandas" not in sys.modules

        def run(mini_batch):
            return [] if mini_batch[0].endswith("f000.txt") else (1.5, "x y")
    """
    job = run_job(source, numbered(2), mini_batch_size=1)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    assert job.output_file.read_text() == "1.5\nx y\n"


def test_a_run_returning_none_fails_its_mini_batch_saying_what_to_return(run_job: RunJob) -> None:
    source = """
        def init():
            pass

        def run(mini_batch):
            return None
    """
    job = run_job(source, numbered(1), max_retries=1, error_threshold=-1)
    assert job.status == "Completed"  # -1: failures are ignored
    assert job.progress().failed_items == 1
    errors = (_logs(job.task.job_dir) / "user/error/10.0.0.4/process000.txt").read_text()
    assert "run() returned NoneType, not a pandas DataFrame or a list" in errors


FAILS_ON_BAD = """
    from pathlib import Path

    def init():
        pass

    def run(mini_batch):
        for f in mini_batch:
            if Path(f).read_text() == "bad":
                raise ValueError(f"cannot score {Path(f).name}")
        return [Path(f).name for f in mini_batch]
"""


def test_a_failing_mini_batch_under_the_threshold_is_retried_then_counted(
    run_job: RunJob,
) -> None:
    files = {"a.txt": "ok", "b.txt": "bad", "c.txt": "ok"}
    job = run_job(FAILS_ON_BAD, files, mini_batch_size=1, max_retries=2, error_threshold=1)
    assert job.status == "Completed", job.lines()
    assert job.error is None
    assert job.output_file is not None
    assert sorted(job.output_file.read_text().splitlines()) == ["a.txt", "c.txt"]
    progress = job.progress()
    assert (progress.succeeded, progress.failed, progress.failed_items) == (2, 1, 1)
    logs = _logs(job.task.job_dir)
    errors = (logs / "user/error.txt").read_text()
    assert errors.count("ValueError: cannot score b.txt") == 2  # both tries
    assert "try 1" in errors and "try 2" in errors
    assert "mini batch 1 failed after 2 tries (1 items)" in (logs / "job_error.txt").read_text()
    report = (logs / "sys/job_report/processed_mini-batches.csv").read_text().splitlines()
    assert report[0].startswith("mini_batch_id,status,tries")
    assert sorted(line.split(",")[1] for line in report[1:]) == ["failed", "succeeded", "succeeded"]


def test_failures_over_the_threshold_fail_the_job(run_job: RunJob) -> None:
    files = {"a.txt": "bad", "b.txt": "bad", "c.txt": "ok"}
    job = run_job(FAILS_ON_BAD, files, mini_batch_size=1, max_retries=1, error_threshold=1)
    assert job.status == "Failed"
    assert job.error is not None
    assert "failed items (2) exceeded the error_threshold (1)" in job.error
    assert job.output_file is not None and not job.output_file.exists()
    assert "Job failed" in (_logs(job.task.job_dir) / "job_result.txt").read_text()


def test_a_retry_that_succeeds_completes_the_job(run_job: RunJob) -> None:
    source = """
        import os
        from pathlib import Path

        def init():
            pass

        def run(mini_batch):
            marker = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "tried")
            if not marker.exists():
                marker.touch()
                raise RuntimeError("first try fails")
            return ["scored"]
    """
    job = run_job(source, numbered(1), error_threshold=0)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    assert job.output_file.read_text() == "scored\n"
    assert job.progress().failed == 0
    errors = (_logs(job.task.job_dir) / "user/error.txt").read_text()
    assert errors.count("RuntimeError: first try fails") == 1
    assert any("failed on try 1 of 3" in line for line in job.lines())


def test_a_dead_worker_is_replaced_and_its_mini_batch_retried(run_job: RunJob) -> None:
    source = """
        import os
        from pathlib import Path

        def init():
            print("init", os.getpid(), flush=True)

        def run(mini_batch):
            marker = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "died")
            if not marker.exists():
                marker.touch()
                os._exit(3)
            return [os.getpid()]
    """
    job = run_job(source, numbered(1), error_threshold=0)
    assert job.status == "Completed", job.lines()
    errors = (_logs(job.task.job_dir) / "user/error.txt").read_text()
    assert "The worker process died (exit code 3)" in errors
    stdout = (_logs(job.task.job_dir) / "user/stdout/10.0.0.4/process000.stdout.txt").read_text()
    pids = [line.split()[1] for line in stdout.splitlines() if line.startswith("init")]
    assert len(set(pids)) == 2  # the replacement ran init() again
    assert job.output_file is not None
    assert job.output_file.read_text() == f"{pids[1]}\n"


def test_a_mini_batch_over_the_timeout_is_retried_in_a_new_worker(run_job: RunJob) -> None:
    source = """
        import os, time
        from pathlib import Path

        def init():
            pass

        def run(mini_batch):
            marker = Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "slow")
            if not marker.exists():
                marker.touch()
                time.sleep(600)
            return ["fast"]
    """
    job = run_job(source, numbered(1), timeout=1.0)
    assert job.status == "Completed", job.lines()
    errors = (_logs(job.task.job_dir) / "user/error.txt").read_text()
    assert "did not return within retry_settings.timeout (1 s)" in errors


def test_a_failing_init_fails_the_job_with_its_error(run_job: RunJob) -> None:
    source = """
        def init():
            raise FileNotFoundError("model.pkl is missing")

        def run(mini_batch):
            return []
    """
    job = run_job(source, numbered(2))
    assert job.status == "Failed"
    assert job.error is not None
    assert "init() failed" in job.error and "model.pkl is missing" in job.error
    errors = (_logs(job.task.job_dir) / "user/error/10.0.0.4/process000.txt").read_text()
    assert "FileNotFoundError: model.pkl is missing" in errors


def test_cancel_stops_the_workers(run_job: RunJob) -> None:
    source = """
        import os, time
        from pathlib import Path

        def init():
            Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "pid").write_text(str(os.getpid()))

        def run(mini_batch):
            time.sleep(600)
            return []
    """
    job = run_job(source, numbered(3), wait=False, mini_batch_size=1)
    deadline = time.monotonic() + JOB_WAIT
    while job.status == "Preparing" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "Running"
    pid = int((job.task.output_dir / "pid").read_text())
    job.cancel()
    assert job.wait(JOB_WAIT) == "Canceled"
    assert job.done
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert any("Job canceled" in line for line in job.lines())
    assert job.output_file is not None and not job.output_file.exists()


def test_the_deployments_environment_variables_and_logging_level_reach_the_script(
    run_job: RunJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
        import logging, os

        def init():
            logging.getLogger("score").debug("debug is on")

        def run(mini_batch):
            return [os.environ["GREETING"] + " " + str("AZUREML_HOST_PROBE" in os.environ)]
    """
    monkeypatch.setenv("AZUREML_HOST_PROBE", "host")  # Azure's variables come from the job only
    job = run_job(source, environment_variables={"GREETING": "hello"}, logging_level="debug")
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    assert job.output_file.read_text() == "hello False\n"
    stderr = (_logs(job.task.job_dir) / "user/stderr/10.0.0.4/process000.stderr.txt").read_text()
    assert "debug is on" in stderr


def test_the_scripts_own_modules_are_imported_not_the_emulators(
    run_job: RunJob, tmp_path: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "settings.py").write_text("LABEL = 'the user settings'\n")
    source = """
        import settings

        def init():
            pass

        def run(mini_batch):
            return [settings.LABEL]
    """
    job = run_job(source)
    assert job.status == "Completed", job.lines()
    assert job.output_file is not None
    assert job.output_file.read_text() == "the user settings\n"


def test_an_image_whose_interpreter_cannot_start_fails_the_job_saying_so(
    run_job: RunJob, tmp_path: Path
) -> None:
    missing = WorkerRuntime(tmp_path / "no-such-python")
    job = run_job(ECHO, numbered(2), runtime=missing)
    assert job.status == "Failed"
    assert job.error is not None
    assert "could not run" in job.error and "no-such-python" in job.error


def test_cancel_while_init_runs_ends_the_job_canceled(run_job: RunJob) -> None:
    source = """
        import os, time
        from pathlib import Path

        def init():
            Path(os.environ["AZUREML_BI_OUTPUT_PATH"], "pid").write_text(str(os.getpid()))
            time.sleep(600)

        def run(mini_batch):
            return []
    """
    job = run_job(source, numbered(2), wait=False)
    pid_file = job.task.output_dir / "pid"
    deadline = time.monotonic() + JOB_WAIT
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "Preparing"
    job.cancel()
    assert job.wait(JOB_WAIT) == "Canceled"
    assert job.error is None
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)

"""Pipeline component batch deployments through the real ``azure-ai-ml`` client: command and
pipeline components registered with ``ml_client.components``, a ``PipelineComponentBatchDeployment``
created, read back and deleted, and its jobs: the steps run locally one after another, each a
child job (``jobs.list(parent_job_name=...)``, ``jobs.get``) with its log in
``user_logs/std_log.txt``; the pipeline's output downloaded; a failing step fails the job and
the steps after it never start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from azure.ai.ml import Input, MLClient, Output
from azure.ai.ml.dsl import pipeline
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    CommandComponent,
    Environment,
    PipelineComponentBatchDeployment,
)
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import BUILDER_ENV

SUB = "11111111-2222-3333-4444-555555555555"
IMAGE = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"

PREPARE = """
import argparse, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--out")
args = parser.parse_args()
rows = []
for path in sorted(pathlib.Path(args.data).glob("*.txt")):
    rows.append(path.read_text().strip().upper())
    print("prepared", path.name)
(pathlib.Path(args.out) / "prepared.txt").write_text("\\n".join(rows) + "\\n")
"""

SCORE = """
import argparse, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--prepared")
parser.add_argument("--out")
args = parser.parse_args()
rows = (pathlib.Path(args.prepared) / "prepared.txt").read_text().split()
(pathlib.Path(args.out) / "scores.csv").write_text(
    "".join(f"{row},{len(row)}\\n" for row in rows)
)
print("scored", len(rows), "rows")
"""

BROKEN = """
raise SystemExit("model file missing: cannot score")
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # images run on this interpreter: no installs
    ml_client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
    ml_client.compute.begin_create_or_update(
        AmlCompute(name="cpu-cluster", size="Standard_DS3_v2", max_instances=1)
    ).result()
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="pep")).result()
    return ml_client


def _components(tmp_path: Path, score_script: str = SCORE) -> tuple[Any, Any]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "prep.py").write_text(PREPARE)
    (src / "score.py").write_text(score_script)
    env = Environment(image=IMAGE)
    prep = CommandComponent(
        name="prep",
        code=str(src),
        command="python prep.py --data ${{inputs.data}} --out ${{outputs.prepared}}",
        inputs={"data": Input(type="uri_folder")},
        outputs={"prepared": Output(type="uri_folder")},
        environment=env,
    )
    score = CommandComponent(
        name="score",
        code=str(src),
        command="python score.py --prepared ${{inputs.prepared}} --out ${{outputs.scores}}",
        inputs={"prepared": Input(type="uri_folder")},
        outputs={"scores": Output(type="uri_folder")},
        environment=env,
    )
    return prep, score


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for word in ("alpha", "beta", "gamma"):
        (folder / f"{word}.txt").write_text(word)
    return folder


def _settle(client: MLClient, name: str, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        got = client.jobs.get(name).status
        status = str(getattr(got, "value", got))
        if status in ("Completed", "Failed", "Canceled") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _std_log(client: MLClient, name: str) -> str:
    """A job's user_logs/std_log.txt, found from its Studio link (the job's folder here)."""
    folder = Path(unquote(urlparse(client.jobs.get(name).studio_url or "").path))
    return (folder / "user_logs" / "std_log.txt").read_text()


def _pipeline(func: Any) -> Any:
    """``@pipeline`` of ``func``, whose ``data`` is a folder input: the dsl reads parameter
    types from annotations, which ``from __future__ import annotations`` makes strings here."""
    func.__annotations__ = {"data": Input(type="uri_folder")}
    return pipeline(func)


def _deploy(client: MLClient, component: Any) -> None:
    client.batch_deployments.begin_create_or_update(
        PipelineComponentBatchDeployment(
            name="steps",
            endpoint_name="pep",
            component=component,
            settings={"default_compute": "cpu-cluster"},
        )
    ).result()


def test_components_are_versioned_listed_and_read_back(client: MLClient, tmp_path: Path) -> None:
    prep, _ = _components(tmp_path)
    first = client.components.create_or_update(prep)
    assert first.version == "1"  # no version given: the container's next one
    prep.command = "python prep.py --data ${{inputs.data}} --out ${{outputs.prepared}} --v2"
    second = client.components.create_or_update(prep)
    assert second.version == "2"
    got = client.components.get("prep", version="1")
    assert got.command == "python prep.py --data ${{inputs.data}} --out ${{outputs.prepared}}"
    assert got.environment is not None and "environments/" in str(got.environment)
    assert client.components.get("prep", label="latest").version == "2"
    assert sorted(c.version for c in client.components.list(name="prep")) == ["1", "2"]
    assert [c.name for c in client.components.list()] == ["prep"]
    with pytest.raises(ResourceNotFoundError):
        client.components.get("prep", version="7")
    # Versions are immutable: version 1 again with another command is refused.
    prep.command = "python prep.py --data ${{inputs.data}} --out ${{outputs.prepared}} --v3"
    with pytest.raises(ResourceExistsError, match="already exists with a different definition"):
        client.components.create_or_update(prep, version="1")


def test_a_two_step_pipeline_deployment_runs_its_steps_in_sequence(
    client: MLClient, tmp_path: Path
) -> None:
    prep, score = _components(tmp_path)

    @_pipeline
    def prepare_and_score(data):  # type: ignore[no-untyped-def]
        prepared = prep(data=data)
        scored = score(prepared=prepared.outputs.prepared)
        return {"scores": scored.outputs.scores}

    component = client.components.create_or_update(prepare_and_score)
    _deploy(client, component)
    deployment = client.batch_deployments.get("steps", endpoint_name="pep")
    assert deployment.properties["deployment_configuration_type"] == "PipelineComponent"
    assert deployment.properties["default_compute"] == "cpu-cluster"

    job = client.batch_endpoints.invoke(
        endpoint_name="pep", inputs={"data": Input(type="uri_folder", path=str(_inputs(tmp_path)))}
    )
    assert _settle(client, job.name) == "Completed"
    children = list(client.jobs.list(parent_job_name=job.name))
    assert [(c.display_name, c.status) for c in children] == [
        ("prepared", "Completed"),
        ("scored", "Completed"),
    ]
    first = client.jobs.get(children[0].name)
    assert first.status == "Completed" and "prep.py" in first.command
    assert first.compute == "cpu-cluster"  # the deployment's default_compute
    assert "prepared alpha.txt" in _std_log(client, children[0].name)
    assert "scored 3 rows" in _std_log(client, children[1].name)

    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="scores")
    scores = (tmp_path / "out" / "named-outputs" / "scores" / "scores.csv").read_text()
    assert scores.splitlines() == ["ALPHA,5", "BETA,4", "GAMMA,5"]
    # A step's own output, from the child job.
    client.jobs.download(
        children[0].name, download_path=str(tmp_path / "step"), output_name="prepared"
    )
    prepared = tmp_path / "step" / "named-outputs" / "prepared" / "prepared.txt"
    assert prepared.read_text().split() == ["ALPHA", "BETA", "GAMMA"]


def test_a_failing_step_fails_the_job_and_the_rest_never_start(
    client: MLClient, tmp_path: Path
) -> None:
    prep, score = _components(tmp_path, score_script=BROKEN)

    @_pipeline
    def three_steps(data):  # type: ignore[no-untyped-def]
        prepared = prep(data=data)
        scored = score(prepared=prepared.outputs.prepared)
        again = score(prepared=scored.outputs.scores)
        return {"scores": again.outputs.scores}

    _deploy(client, client.components.create_or_update(three_steps))
    job = client.batch_endpoints.invoke(
        endpoint_name="pep", inputs={"data": Input(type="uri_folder", path=str(_inputs(tmp_path)))}
    )
    assert _settle(client, job.name) == "Failed"
    children = list(client.jobs.list(parent_job_name=job.name))
    assert [(c.display_name, c.status) for c in children] == [
        ("prepared", "Completed"),
        ("scored", "Failed"),
        ("again", "NotStarted"),
    ]
    assert "model file missing: cannot score" in _std_log(client, children[1].name)
    parent_log = _std_log(client, job.name)
    assert "Step 'scored'" in parent_log and "exited with code 1" in parent_log
    assert "model file missing: cannot score" in parent_log


def test_a_step_whose_environment_does_not_build_fails_when_its_turn_comes(
    client: MLClient, tmp_path: Path
) -> None:
    prep, score = _components(tmp_path)
    conda = tmp_path / "conda.yml"
    conda.write_text(
        "name: scoring\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        "    - amlemu-no-such-package==1.0\n"
    )
    score.environment = Environment(image=IMAGE, conda_file=str(conda))

    @_pipeline
    def broken_env(data):  # type: ignore[no-untyped-def]
        return {"scores": score(prepared=prep(data=data).outputs.prepared).outputs.scores}

    _deploy(client, client.components.create_or_update(broken_env))  # built per step, later
    job = client.batch_endpoints.invoke(
        endpoint_name="pep", inputs={"data": Input(type="uri_folder", path=str(_inputs(tmp_path)))}
    )
    assert _settle(client, job.name) == "Failed"
    children = list(client.jobs.list(parent_job_name=job.name))
    assert [c.status for c in children] == ["Completed", "Failed"]
    parent_log = _std_log(client, job.name)
    assert "could not start: ImageBuildFailure" in parent_log
    assert "amlemu-no-such-package" in parent_log  # the build log's tail names it


def test_a_pipeline_deployment_needs_a_pipeline_component_and_a_cluster(
    client: MLClient, tmp_path: Path
) -> None:
    prep, _ = _components(tmp_path)
    command = client.components.create_or_update(prep)
    with pytest.raises(HttpResponseError, match="needs a pipeline component"):
        _deploy(client, command.id)

    @_pipeline
    def one_step(data):  # type: ignore[no-untyped-def]
        return {"out": prep(data=data).outputs.prepared}

    component = client.components.create_or_update(one_step)
    with pytest.raises(HttpResponseError, match="AmlCompute clusters of this workspace"):
        client.batch_deployments.begin_create_or_update(
            PipelineComponentBatchDeployment(
                name="steps",
                endpoint_name="pep",
                component=component,
                settings={"default_compute": "gpu-cluster"},
            )
        ).result()
    with pytest.raises(HttpResponseError, match="continue_on_step_failure"):
        client.batch_deployments.begin_create_or_update(
            PipelineComponentBatchDeployment(
                name="steps",
                endpoint_name="pep",
                component=component,
                settings={"default_compute": "cpu-cluster", "continue_on_step_failure": "True"},
            )
        ).result()
    _deploy(client, f"azureml:{component.name}:{component.version}")
    assert [d.name for d in client.batch_deployments.list(endpoint_name="pep")] == ["steps"]
    client.batch_deployments.begin_delete(name="steps", endpoint_name="pep").result()
    assert list(client.batch_deployments.list(endpoint_name="pep")) == []


SLOW = """
import time
print("scoring slowly", flush=True)
time.sleep(60)
"""


def test_a_pipeline_job_is_canceled_with_its_running_step(client: MLClient, tmp_path: Path) -> None:
    prep, score = _components(tmp_path, score_script=SLOW)

    @_pipeline
    def slow(data):  # type: ignore[no-untyped-def]
        return {"scores": score(prepared=prep(data=data).outputs.prepared).outputs.scores}

    _deploy(client, client.components.create_or_update(slow))
    job = client.batch_endpoints.invoke(
        endpoint_name="pep", inputs={"data": Input(type="uri_folder", path=str(_inputs(tmp_path)))}
    )
    deadline = time.monotonic() + 180  # a loaded CI machine builds the image slowly
    while "scoring slowly" not in _logs_of_running_step(client, job.name):
        assert time.monotonic() < deadline, "the second step never started"
        time.sleep(0.2)
    started = time.monotonic()
    client.jobs.begin_cancel(job.name).result()
    assert _settle(client, job.name) == "Canceled"
    assert time.monotonic() - started < 30  # the step's sleep(60) was stopped, not awaited
    children = list(client.jobs.list(parent_job_name=job.name))
    assert [c.status for c in children] == ["Completed", "Canceled"]


def _logs_of_running_step(client: MLClient, name: str) -> str:
    running = [c for c in client.jobs.list(parent_job_name=name) if c.status == "Running"]
    return _std_log(client, running[0].name) if running else ""


def test_a_step_gets_literal_inputs_and_a_missing_pipeline_input_is_named(
    client: MLClient, tmp_path: Path
) -> None:
    src = tmp_path / "echo"
    src.mkdir()
    (src / "echo.py").write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[2], 'said.txt').write_text(sys.argv[1])\n"
    )
    echo = CommandComponent(
        name="echo",
        code=str(src),
        command="python echo.py ${{inputs.word}} ${{outputs.said}} $[[--unused ${{inputs.extra}}]]",
        inputs={"word": Input(type="string"), "extra": Input(type="string", optional=True)},
        outputs={"said": Output(type="uri_folder")},
        environment=Environment(image=IMAGE),
    )

    @_pipeline
    def say(data):  # type: ignore[no-untyped-def]
        return {"said": echo(word="hello world").outputs.said}

    prep, _ = _components(tmp_path)

    @_pipeline
    def needs_data(data):  # type: ignore[no-untyped-def]
        return {"out": prep(data=data).outputs.prepared}

    _deploy(client, client.components.create_or_update(say))
    data = Input(type="uri_folder", path=str(_inputs(tmp_path)))
    job = client.batch_endpoints.invoke(endpoint_name="pep", inputs={"data": data})
    assert _settle(client, job.name) == "Completed"
    client.jobs.download(job.name, download_path=str(tmp_path / "out"), output_name="said")
    said = tmp_path / "out" / "named-outputs" / "said" / "said.txt"
    assert said.read_text() == "hello world"  # one argument: the value was shell-quoted

    _deploy(client, client.components.create_or_update(needs_data))
    with pytest.raises(HttpResponseError, match="no value for the pipeline input"):
        client.batch_endpoints.invoke(
            endpoint_name="pep", inputs={"other": Input(type="uri_folder", path=str(src))}
        )

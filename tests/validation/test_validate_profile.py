"""``Model.profile``: recommendations and latency percentiles from real init()/run() calls."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emulator import CondaDependencies, Environment, InferenceConfig, Model, Workspace
from emulator.errors import WebserviceException

SCORING = Path(__file__).resolve().parents[2] / "fixtures" / "scoring"


@pytest.fixture
def deployable(
    aml_workspace: Workspace, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workspace, Model]:
    """A workspace with one registered model; images are built on this interpreter."""
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    (workdir / "model.pkl").write_bytes(b"not really a model")
    model = Model.register(aml_workspace, "model.pkl", "echo-model")
    return aml_workspace, model


def _config(workdir: Path, script: str) -> InferenceConfig:
    shutil.copy(SCORING / script, workdir / "score.py")
    env = Environment("profile-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-defaults"])
    return InferenceConfig(entry_script="score.py", environment=env)


def test_a_profile_recommends_resources_and_reports_latency(
    deployable: tuple[Workspace, Model], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, model = deployable
    profile = Model.profile(
        ws,
        "echo-profile",
        [model],
        _config(workdir, "score_echo.py"),
        input_dataset=['{"a": 1}', {"b": [1, 2]}],
        description="echo",
    )
    assert profile.state == "Running"
    profile.wait_for_completion(show_output=True)
    assert 'Profiling operation finished, operation "Succeeded"' in capsys.readouterr().out
    details = profile.get_details()
    assert details["state"] == "Succeeded" and details["error"] is None, details
    assert (details["name"], details["description"]) == ("echo-profile", "echo")
    assert details["recommendedCpu"] == profile.recommended_cpu == 0.1
    assert 0.1 <= details["recommendedMemoryInGB"] == profile.recommended_memory <= 0.5
    assert details["totalQueries"] >= 2 and details["successRate"] == 1.0
    p50, p90, p99 = (details[f"latencyPercentile{p}InMs"] for p in (50, 90, 99))
    assert 0 < p50 <= p90 <= p99
    assert details["measuredQueriesPerSecond"] > 0
    assert 0 < details["maxUtilizedMemoryInGB"] < details["recommendedMemoryInGB"]
    assert (details["requestedCpu"], details["requestedMemoryInGB"]) == (None, None)

    from azureml.core.profile import ModelProfile

    again = ModelProfile(ws, "echo-profile")
    assert again.get_details() == details
    assert again.serialize() == {**details, "workspaceName": ws.name}


def test_a_profile_whose_init_fails_is_failed_with_the_traceback(
    deployable: tuple[Workspace, Model], workdir: Path
) -> None:
    ws, model = deployable
    profile = Model.profile(
        ws, "broken", [model], _config(workdir, "score_init_raises.py"), input_dataset=["{}"]
    )
    profile.wait_for_completion()
    assert profile.state == "Failed"
    assert profile.error is not None and "FileNotFoundError" in profile.error["message"]


def test_a_container_over_the_requested_memory_fails_the_profile(
    deployable: tuple[Workspace, Model], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, model = deployable
    monkeypatch.setenv("HOLD_MB", "120")
    monkeypatch.setenv("INIT_CPU_S", "0")
    config = _config(workdir, "validate_busy.py")
    profile = Model.profile(ws, "big", [model], config, input_dataset=["0"], memory_in_gb=0.1)
    profile.wait_for_completion()
    assert profile.state == "Failed"
    assert profile.error is not None
    assert "more than memory_in_gb=0.1: Azure stops it (OOMKilled)" in profile.error["message"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cpu": 5}, "Expected cpu value is between 0.1 and 3.5. Provided: 5"),
        ({"memory_in_gb": 0.01}, "Expected memory_in_gb value is between 0.1 and 15.0"),
        ({"profile_name": "a/b"}, "Invalid profile_name 'a/b'"),
        ({"input_dataset": "{}"}, "input_dataset must be a TabularDataset or FileDataset, not str"),
    ],
)
def test_invalid_arguments_are_refused_before_profiling(
    deployable: tuple[Workspace, Model], workdir: Path, kwargs: dict[str, object], message: str
) -> None:
    ws, model = deployable
    arguments = {"profile_name": "p", "input_dataset": ["{}"], **kwargs}
    with pytest.raises(WebserviceException, match=message.replace(".", r"\.")):
        Model.profile(
            ws, models=[model], inference_config=_config(workdir, "score_echo.py"), **arguments
        )

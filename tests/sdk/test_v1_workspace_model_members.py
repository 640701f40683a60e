"""Workspace, Model and ModelProfile members through the shim, as deployment code calls them:
``Workspace.create`` with the SDK's keywords, the default cluster lookup, the members that need
Azure (the SDK's error with the reason), ``Model.get_sas_urls`` / ``print_configuration`` and
every figure a ``ModelProfile`` exposes."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from emulator import mock_aml

SCORING = Path(__file__).resolve().parents[2] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        with mock_aml(root=tmp_path_factory.mktemp("members") / "root", strict=False):
            from azureml.core import Workspace

            yield Workspace.create(
                "members",
                subscription_id="sub",
                resource_group="rg",
                location="westeurope",
                storage_account=None,
                key_vault=None,
                hbi_workspace=False,
                system_datastores_auth_mode="accessKey",
                exist_ok=True,
                show_output=False,
            )


@pytest.fixture(scope="module")
def model(ws: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from azureml.core import Model

    folder = tmp_path_factory.mktemp("model")
    (folder / "model.pkl").write_bytes(b"weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the SDK uploads paths under the working directory only
        return Model.register(ws, "model.pkl", "members-model")


def test_workspace_defaults_and_discovery(ws: Any, caplog: pytest.LogCaptureFixture) -> None:
    from azureml.core import Workspace

    assert ws.sku == "basic"
    assert (Workspace.DEFAULT_CPU_CLUSTER_NAME, Workspace.DEFAULT_GPU_CLUSTER_NAME) == (
        "cpu-cluster",
        "gpu-cluster",
    )
    assert ws.discovery_url == "https://westeurope.api.azureml.ms/discovery"
    with caplog.at_level(logging.WARNING, logger="emulator.workspace"):
        assert ws.get_default_compute_target("CPU") is None
    assert "'get_default_compute_target' is deprecated" in caplog.text
    with pytest.raises(ValueError, match="Accepted values are CPU and GPU"):
        ws.get_default_compute_target("TPU")


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda ws: ws.experiments, "training"),
        (lambda ws: ws.get_run("run-1"), "training"),
        (lambda ws: ws.linked_services, "Synapse"),
        (lambda ws: ws.private_endpoints, "private endpoints"),
        (lambda ws: ws.add_private_endpoint(private_endpoint_config=None), "private endpoints"),
        (lambda ws: ws.delete_private_endpoint_connection("pe"), "private endpoints"),
        (lambda ws: ws.get_connection("c"), "connections"),
        (lambda ws: ws.list_connections(category="x"), "connections"),
        (lambda ws: ws.set_connection("c", "cat", "t", "PAT", "v"), "connections"),
        (lambda ws: ws.delete_connection("c"), "connections"),
        (lambda ws: ws.diagnose_workspace({}), "diagnose"),
        (lambda ws: ws.get_default_keyvault(), "environment variables"),
        (lambda ws: ws.update_dependencies(force=True), "replace"),
        (lambda ws: ws.list_keys(), "list keys"),
        (lambda ws: ws.sync_keys(no_wait=True), "re-sync"),
        (lambda ws: ws.service_context, "REST"),
        (lambda ws: ws.delete(delete_dependent_resources=True), "AZUREML_EMULATOR_ROOT"),
        (lambda ws: ws.update(description="d"), "fixed at Workspace.create"),
        (lambda ws: type(ws).setup(), "Workspace.create or get"),
    ],
)
def test_members_that_need_azure_raise_the_sdks_error(ws: Any, call: Any, reason: str) -> None:
    from azureml.exceptions import UserErrorException

    with pytest.raises(UserErrorException, match=rf"is not emulated: .*{reason}"):
        call(ws)


def test_a_call_the_sdk_refuses_is_a_type_error_first(ws: Any) -> None:
    with pytest.raises(TypeError):
        ws.get_run()


def test_model_sas_urls_read_the_stored_files(model: Any) -> None:
    urls = model.get_sas_urls()
    assert list(urls) == ["model.pkl"]
    with urlopen(urls["model.pkl"]) as answer:
        assert answer.read() == b"weights"
    assert (model.run, model.parent_id, model.derived_model_ids) == (None, None, None)


def test_print_configuration_prints_what_deploy_shows(
    model: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from azureml.core import Environment, Model
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AciWebservice

    shutil.copy(SCORING / "score_echo.py", tmp_path / "score.py")
    env = Environment.from_pip_requirements("echo-env", _requirements(tmp_path))
    env.docker.base_image = "mcr.microsoft.com/azureml/minimal-ubuntu20.04-py38-cpu-inference"
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(tmp_path), environment=env
    )
    deployment = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=2)
    Model.print_configuration([model], config, deployment, None)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Models: ['{model.id}']"
    assert out[1] == f"Entry script: {tmp_path / 'score.py'}"
    assert out[2].startswith("Environment dependencies: ") and "azureml-defaults" in out[2]
    assert out[3] == f"Environment docker image: {env.docker.base_image}"
    assert out[4] == "CPU requirement: 1, Memory requirement: 2GB"


def _requirements(folder: Path) -> str:
    path = folder / "requirements.txt"
    path.write_text("azureml-defaults\n")
    return str(path)


def test_a_profile_exposes_every_measured_figure(ws: Any, model: Any, tmp_path: Path) -> None:
    from azureml.core import Environment, Model
    from azureml.core.model import InferenceConfig
    from azureml.core.profile import ModelProfile

    shutil.copy(SCORING / "score_echo.py", tmp_path / "score.py")
    env = Environment.from_pip_requirements("profile-env", _requirements(tmp_path))
    config = InferenceConfig(
        entry_script="score.py", source_directory=str(tmp_path), environment=env
    )
    profile = Model.profile(ws, "members-profile", [model], config, input_dataset=['{"a": 1}'])
    profile.wait_for_completion()
    details = ModelProfile(ws, "members-profile").get_details()
    assert details["state"] == "Succeeded", details
    read = ModelProfile(ws, "members-profile")
    assert read.model_ids == [model.id]
    assert read.environment == {"name": "profile-env", "version": None}
    assert read.id and read.create_operation_id == read.id == read.parent_request_id
    assert (read.requested_queries_per_second, read.error_logs_url) == (None, None)
    figures = [
        (read.max_utilized_memory, "maxUtilizedMemoryInGB"),
        (read.max_utilized_cpu, "maxUtilizedCpu"),
        (read.measured_queries_per_second, "measuredQueriesPerSecond"),
        (read.total_queries, "totalQueries"),
        (read.success_queries, "successQueries"),
        (read.success_rate, "successRate"),
        (read.average_latency_in_ms, "averageLatencyInMs"),
        (read.latency_percentile_50_in_ms, "latencyPercentile50InMs"),
        (read.latency_percentile_90_in_ms, "latencyPercentile90InMs"),
        (read.latency_percentile_95_in_ms, "latencyPercentile95InMs"),
        (read.latency_percentile_99_in_ms, "latencyPercentile99InMs"),
        (read.latency_percentile_999_in_ms, "latencyPercentile999InMs"),
    ]
    for value, key in figures:
        assert value == details[key] is not None, key
    assert read.success_queries == read.total_queries and read.success_rate == 1.0
    assert read.latency_percentile_99_in_ms <= read.latency_percentile_999_in_ms
    assert (read.created_time, read.description, read.input_dataset_id) == (
        profile.created_time,
        None,
        None,
    )
    assert (read.requested_cpu, read.requested_memory_in_gb, read.workspace) == (None, None, ws)

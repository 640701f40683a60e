"""Environments and code through the real ``azure-ai-ml`` client: versions as Azure hands them
out (an unchanged definition keeps its version, a changed one gets the next), immutability, and
code uploads that are skipped when the same content was uploaded before."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import Environment
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    # What deployments' code_configuration uploads through (not exported by azure.ai.ml).
    from azure.ai.ml.entities._assets import Code

SUB = "11111111-2222-3333-4444-555555555555"
CONDA = "name: scoring\ndependencies:\n- python=3.11\n- pip:\n  - numpy\n"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def test_a_named_environment_with_conda_file_and_image_round_trips(
    client: MLClient, tmp_path: Path
) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text(CONDA)
    created = client.environments.create_or_update(
        Environment(name="scoring", version="3", image="python:3.11-slim", conda_file=str(conda))
    )
    assert (created.name, created.version) == ("scoring", "3")
    fetched = client.environments.get("scoring", "3")
    assert fetched.image == "python:3.11-slim"
    assert fetched.conda_file["dependencies"][1] == {"pip": ["numpy"]}


def test_unversioned_environments_get_the_next_version_only_when_changed(
    client: MLClient,
) -> None:
    first = client.environments.create_or_update(Environment(name="env", image="python:3.11"))
    same = client.environments.create_or_update(Environment(name="env", image="python:3.11"))
    changed = client.environments.create_or_update(Environment(name="env", image="python:3.12"))
    assert (first.version, same.version, changed.version) == ("1", "1", "2")
    assert [e.version for e in client.environments.list("env")] == ["2", "1"]


def test_an_existing_version_is_immutable(client: MLClient) -> None:
    client.environments.create_or_update(Environment(name="env", version="1", image="a:1"))
    with pytest.raises(ResourceExistsError, match="env:1 already exists with a different"):
        client.environments.create_or_update(Environment(name="env", version="1", image="b:1"))
    assert client.environments.get("env", "1").image == "a:1"


def test_anonymous_environments_are_stored_by_content(client: MLClient, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text(CONDA)
    created = client.environments.create_or_update(
        Environment(image="python:3.11", conda_file=str(conda))
    )
    assert created.name == "CliV2AnonymousEnvironment"
    assert [e.image for e in client.environments.list("CliV2AnonymousEnvironment")] == [
        "python:3.11"
    ]


def test_unknown_environment_is_arms_not_found(client: MLClient) -> None:
    with pytest.raises(ResourceNotFoundError, match="workspaces/ws/environments/nope/versions/1"):
        client.environments.get("nope", "1")


def test_the_same_code_is_uploaded_once(
    client: MLClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emulator.arm")
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text("def init():\n    pass\n")
    first = client._code.create_or_update(Code(path=str(src)))
    uploads = [r for r in caplog.records if ".blob." in r.getMessage() and "PUT" in r.getMessage()]
    assert uploads, "the first code upload goes to the blob plane"
    assert first.path.endswith("/src")
    caplog.clear()
    second = client._code.create_or_update(Code(path=str(src)))
    assert (second.name, second.version) == (first.name, first.version)
    assert not [r for r in caplog.records if ".blob." in r.getMessage()]

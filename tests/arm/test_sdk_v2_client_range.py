"""What the supported range of ``azure-ai-ml`` (pyproject's pin) needs beyond the newest client,
checked through the installed one: the default datastore's expirable secret is a SAS token (the
releases before 1.31 read nothing else), and a script run again re-registers its anonymous model
as the same version (every release does; Azure answers it with the existing version)."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    SasTokenConfiguration,
)
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import BUILDER_ENV

SCORE = "def init():\n    pass\n\ndef run(raw):\n    return {'ok': True}\n"


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), "sub", "rg", "ws")


def test_the_default_datastore_hands_out_a_sas_token_when_asked_for_an_expirable_secret(
    client: MLClient,
) -> None:
    datastore = client.datastores.get_default(include_secrets=True)
    assert isinstance(datastore.credentials, SasTokenConfiguration)
    assert "sig=" in (datastore.credentials.sas_token or "")


def test_a_deployment_script_run_again_registers_the_same_anonymous_model(
    client: MLClient, tmp_path: Path
) -> None:
    (tmp_path / "weights.txt").write_text("1")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="again")).result()
    for name in ("blue", "green"):  # the same local model each time, as a rerun sends it
        deployment = ManagedOnlineDeployment(
            name=name,
            endpoint_name="again",
            model=Model(path=str(tmp_path / "weights.txt")),
            code_configuration=CodeConfiguration(
                code=str(tmp_path / "src"), scoring_script="score.py"
            ),
            environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
            instance_type="Standard_DS3_v2",
            instance_count=1,
        )
        created = client.online_deployments.begin_create_or_update(deployment).result()
        assert created.provisioning_state == "Succeeded"
    models = {client.online_deployments.get(n, "again").model for n in ("blue", "green")}
    assert len(models) == 1 and str(models.pop()).endswith("/versions/1")

"""``amlemu exec`` and ``logs`` for a service on the docker runtime: ``docker exec`` into the
running container, where the seed's recipe prints the model's path under /var/azureml-app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_harness import MODEL_NAME, amlemu, build_image, register_model

from emulator import AciWebservice, Webservice, Workspace


@pytest.mark.slow
@pytest.mark.docker
def test_exec_into_a_docker_replica(
    aml_workspace: Workspace,
    aml_root: Path,
    workdir: Path,
    docker_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "docker")
    register_model(aml_workspace, workdir)
    image = build_image(aml_workspace, workdir, "score_seed_model.py", "exec-docker")
    try:
        service = Webservice.deploy_from_image(
            aml_workspace, "exec-docker-svc", image, AciWebservice.deploy_configuration()
        )
        service.wait_for_deployment()
        recipe = (
            "import logging; logging.basicConfig(level=logging.DEBUG); "
            "from azureml.core.model import Model; "
            f"print(Model.get_model_path(model_name='{MODEL_NAME}'))"
        )
        result = amlemu(aml_root, "exec", "exec-docker-svc", "--", "python", "-c", recipe)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"/var/azureml-app/azureml-models/{MODEL_NAME}/1/model.pkl"
        assert "DEBUG:azureml.core.model" in result.stderr

        shell = amlemu(aml_root, "exec", "exec-docker-svc", "--", "sh", "-c", "pwd; exit 5")
        assert (shell.returncode, shell.stdout) == (5, "/var/azureml-app\n")

        logs = amlemu(aml_root, "logs", "exec-docker-svc")
        assert "seed-score: init found the model at /var/azureml-app/azureml-models" in logs.stdout
        service.delete()
    finally:
        docker_engine.images.remove("exec-docker:1", force=True)

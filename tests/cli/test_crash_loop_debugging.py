"""The seed's troubleshooting path for a service whose init() fails: describe shows Azure's
CrashLoopBackOff error, logs show init()'s traceback, and exec runs the DEBUG recipe in a fresh
container of the image (no replica is left running to exec into)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import MODEL_NAME, amlemu, build_image, register_model

from emulator import AciWebservice, Webservice, Workspace
from emulator.errors import WebserviceException


@pytest.mark.slow
def test_debugging_a_crash_looping_service(
    aml_workspace: Workspace, aml_root: Path, workdir: Path, fast_env: None
) -> None:
    register_model(aml_workspace, workdir)
    image = build_image(aml_workspace, workdir, "score_wrong_model.py", "wrong-img")
    service = Webservice.deploy_from_image(
        aml_workspace, "wrong-svc", image, AciWebservice.deploy_configuration()
    )
    with pytest.raises(WebserviceException, match="CrashLoopBackOff"):
        service.wait_for_deployment()

    described = amlemu(aml_root, "describe", "service", "wrong-svc")
    assert "state                Failed" in described.stdout
    assert "code: CrashLoopBackOff" in described.stdout and "exited" in described.stdout

    startup = amlemu(aml_root, "logs", "wrong-svc", "--init").stdout
    assert startup.count("wrong-model: looking for the model") == 4  # the run and 3 restarts
    assert "Model my-best-modle not found in cache" in startup
    assert "Did you mean 'my-best-model'?" in startup

    recipe = (
        "import logging; logging.basicConfig(level=logging.DEBUG); "
        "from azureml.core.model import Model; "
        f"print(Model.get_model_path(model_name='{MODEL_NAME}'))"
    )
    result = amlemu(aml_root, "exec", "wrong-svc", "--", "python", "-c", recipe)
    assert result.returncode == 0, result.stderr
    assert "No replica of service wrong-svc is running" in result.stderr
    app_root = Path(image.image_location or "") / "azureml-app"
    assert (
        Path(result.stdout.strip()) == app_root / "azureml-models" / MODEL_NAME / "1" / "model.pkl"
    )

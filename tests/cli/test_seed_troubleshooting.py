"""The seed document's troubleshooting section, followed step by step against the emulator.

1. Retrieve the image build log URI (image object, ``ws.images[...]``, all images).
2. Inspect the web service's log (``service.get_logs()``, ``ws.webservices[...]``).
3. Enable DEBUG logging in the service container and print ``Model.get_model_path`` there.
4. View error messages in the portal: the Compute blade shows the failed provisioning (quota),
   the Deployments blade the scoring URI and the keys.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

import pytest
from cli_harness import MODEL_NAME, amlemu, build_image, register_model
from werkzeug.test import Client

from emulator import AksCompute, AksWebservice, ComputeTarget, Webservice, Workspace
from emulator.errors import ComputeTargetException
from emulator.portal import csrf
from emulator.portal.app import PortalApp


@pytest.mark.slow
def test_the_seed_troubleshooting_section_step_by_step(
    aml_workspace: Workspace,
    aml_root: Path,
    workdir: Path,
    fast_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = aml_workspace
    register_model(ws, workdir)
    image = build_image(ws, workdir, "score_seed_model.py", "myimg")

    # 1. The image build log URI, three ways.
    print(image.image_build_log_uri)
    print(ws.images["myimg"].image_build_log_uri)
    for _name, img in ws.images.items():
        print(img.name, img.version, img.image_build_log_uri)
    out = capsys.readouterr().out
    assert out.count(image.image_build_log_uri) == 3
    assert "Image myimg:1 built" in Path(urlparse(image.image_build_log_uri).path).read_text()

    # A cluster for the service, and one the core quota refuses (the portal's Failed blade).
    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    cluster = ComputeTarget.create(ws, "amldev-aks", config)
    cluster.wait_for_completion()
    monkeypatch.setenv("AZUREML_EMULATOR_CORE_QUOTA", "4")
    refused = ComputeTarget.create(ws, "amlprod-aks", AksCompute.provisioning_configuration())
    with pytest.raises(ComputeTargetException):
        refused.wait_for_completion()

    service = Webservice.deploy_from_image(
        ws, "mysvc", image, AksWebservice.deploy_configuration(num_replicas=1), cluster
    )
    service.wait_for_deployment()

    # 2. The service's log, from the object and by name.
    logs = service.get_logs()
    assert "seed-score: init found the model at" in logs
    assert ws.webservices["mysvc"].get_logs() == logs

    # 3. DEBUG logging and get_model_path inside the service's container.
    recipe = (
        "import logging; logging.basicConfig(level=logging.DEBUG); "
        "from azureml.core.model import Model; "
        f"print(Model.get_model_path(model_name='{MODEL_NAME}'))"
    )
    result = amlemu(aml_root, "exec", "mysvc", "--", "python", "-c", recipe)
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip())
    assert printed.parts[-4:] == ("azureml-models", MODEL_NAME, "1", "model.pkl")
    assert printed.is_file()
    assert logging.getLevelName(logging.DEBUG) in result.stderr  # the DEBUG lines came out

    # 4. The portal's Compute and Deployments blades.
    portal = Client(PortalApp(ws))
    compute = portal.get("/compute").text
    failed = compute.split('id="compute-amlprod-aks"')[1].split("</section>")[0]
    assert "Failed" in failed and "quota" in failed.lower()
    blade = portal.get("/services/mysvc").text
    assert service.scoring_uri in blade and "Healthy" in blade
    cookie = portal.get_cookie(csrf.COOKIE)
    assert cookie is not None
    revealed = portal.post(
        "/services/mysvc/keys",
        data={csrf.FIELD: cookie.value},
        headers={"Origin": "http://localhost"},
    ).text
    primary, secondary = service.get_keys()
    assert primary in revealed and secondary in revealed
    service.delete()

"""AKS controlled rollout through the shim, as users write it: ``AksEndpoint`` from
``azureml.core.webservice``, a first version deployed by ``Model.deploy``, more versions with
``create_version``, shares and roles changed with ``update_version``, and requests to the
endpoint's scoring URI split between versions by their percentiles (exactly: the router is a
smooth weighted round robin, so 20 requests at 30 % send 6 to that version).

Images are built with the host builder and replicas run on the process runtime.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """
import json

def init():
    print("version {name} ready")

def run(raw_data):
    return {{"version": "{name}"}}
"""


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


@pytest.fixture
def cluster(aml_workspace: Any) -> Any:
    from azureml.core.compute import AksCompute, ComputeTarget

    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    target = ComputeTarget.create(aml_workspace, "aks-rollout", config)
    target.wait_for_completion()
    return target


def _config(workdir: Path, name: str) -> Any:
    from azureml.core.model import InferenceConfig

    (workdir / f"score_{name}.py").write_text(SCRIPT.format(name=name))
    return InferenceConfig(entry_script=f"score_{name}.py")


def _post(url: str, key: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _split(endpoint: Any, count: int) -> Counter[str]:
    key = endpoint.get_keys()[0]
    answers: Counter[str] = Counter()
    for _ in range(count):
        status, body = _post(endpoint.scoring_uri, key)
        assert status == 200, body
        answers[body["version"]] += 1
    return answers


@pytest.fixture
def endpoint(aml_workspace: Any, workdir: Path, cluster: Any) -> Any:
    from azureml.core import Model
    from azureml.core.webservice import AksEndpoint

    config = AksEndpoint.deploy_configuration(
        version_name="blue", traffic_percentile=30, num_replicas=1, cpu_cores=0.1, memory_gb=0.2
    )
    service = Model.deploy(aml_workspace, "rollout", [], _config(workdir, "blue"), config, cluster)
    service.wait_for_deployment()
    return service


def test_first_version_is_default_and_takes_all_traffic(endpoint: Any) -> None:
    from azureml.core.webservice import AksEndpoint, AksWebservice, Webservice

    assert isinstance(endpoint, AksEndpoint) and endpoint.compute_type == "AKSENDPOINT"
    assert endpoint.state == "Healthy"
    assert endpoint.scoring_uri.endswith("/api/v1/service/rollout/score")
    blue = endpoint.versions["blue"]
    assert isinstance(blue, AksWebservice)
    assert (blue.name, blue.is_default, blue.traffic_percentile) == ("blue", True, 30)
    assert blue.deployment_status["availableReplicas"] == 1
    # the default version takes what no version claims: all of it
    assert _split(endpoint, 5) == {"blue": 5}
    assert endpoint.run("{}") == {"version": "blue"}
    # read back from the workspace, listed as the endpoint (not its versions)
    again = Webservice(endpoint.workspace, "rollout")
    assert isinstance(again, AksEndpoint) and list(again.versions) == ["blue"]
    listed = Webservice.list(endpoint.workspace)
    assert [s.name for s in listed] == ["rollout"]
    assert endpoint.serialize()["versions"]["blue"]["trafficPercentile"] == 30


def test_traffic_is_split_by_percentile(endpoint: Any, workdir: Path) -> None:
    endpoint.create_version(
        "green",
        inference_config=_config(workdir, "green"),
        models=[],
        num_replicas=1,
        cpu_cores=0.1,
        memory_gb=0.2,
        traffic_percentile=30,
    )
    endpoint.wait_for_deployment()
    green = endpoint.versions["green"]
    assert (green.is_default, green.traffic_percentile, green.version_type) == (
        False,
        30,
        "Treatment",
    )
    # blue (default) 30 % + the 40 % nobody claims; green 30 %: exactly 6 of 20
    assert _split(endpoint, 20) == {"blue": 14, "green": 6}

    endpoint.update_version(
        "green", traffic_percentile=50, is_default=True, is_control_version_type=True
    )
    green, blue = endpoint.versions["green"], endpoint.versions["blue"]
    assert (green.is_default, green.version_type, blue.is_default) == (True, "Control", False)
    assert blue.version_type == "Treatment"
    # green 50 % + unclaimed 20 %, blue 30 %
    assert _split(endpoint, 20) == {"green": 14, "blue": 6}

    # a new script for green: its replicas roll over, its share and role stay
    endpoint.update_version("green", inference_config=_config(workdir, "teal"))
    green = endpoint.versions["green"]
    assert (green.is_default, green.traffic_percentile, green.version_type) == (
        True,
        50,
        "Control",
    )
    assert _split(endpoint, 10) == {"teal": 7, "blue": 3}

    endpoint.delete_version("blue")
    assert list(endpoint.versions) == ["green"]
    assert _split(endpoint, 3) == {"teal": 3}


def test_rollout_rules_name_the_fix(endpoint: Any, workdir: Path) -> None:
    from azureml.exceptions import WebserviceException

    with pytest.raises(WebserviceException, match="traffic_percentile cannot be negative"):
        endpoint.create_version("red", traffic_percentile=120)
    with pytest.raises(WebserviceException, match="No name is provided to create a version"):
        endpoint.create_version(None)
    with pytest.raises(WebserviceException, match="add up to 110"):
        endpoint.create_version(
            "red", inference_config=_config(workdir, "red"), traffic_percentile=80
        )
    with pytest.raises(WebserviceException, match="only version"):
        endpoint.delete_version("blue")
    with pytest.raises(WebserviceException, match="needs exactly one default"):
        endpoint.update_version("blue", is_default=False)
    with pytest.raises(WebserviceException, match="Version nope not found"):
        endpoint.update_version("nope", traffic_percentile=10)
    with pytest.raises(WebserviceException, match="No parameters provided to update a version"):
        endpoint.update_version("blue")
    assert "red" not in endpoint.versions


def test_endpoint_keys_auth_and_delete(endpoint: Any) -> None:
    old = endpoint.get_keys()[0]
    assert _post(endpoint.scoring_uri, None)[0] == 401
    endpoint.regen_key("Primary")
    new = endpoint.get_keys()[0]
    assert new != old
    assert _post(endpoint.scoring_uri, new)[0] == 200
    assert _post(endpoint.scoring_uri, old)[0] == 401
    endpoint.update(auth_enabled=False, description="rollout", tags={"stage": "ab"})
    assert _post(endpoint.scoring_uri, None)[0] == 200
    assert (endpoint.description, endpoint.tags, endpoint.auth_enabled) == (
        "rollout",
        {"stage": "ab"},
        False,
    )
    uri = endpoint.scoring_uri
    endpoint.delete()
    assert _post(uri, None)[0] == 404

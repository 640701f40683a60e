"""A user's test suite for an iris scoring service, with the azureml-emulator pytest plugin.

No conftest.py: the plugin's fixtures come with the package. Run it with
``pytest -n 2 examples/pytest_suite`` (the spec file ``aml-deployment-iris.yml`` beside this
module is collected as tests too).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from build_model import build_pickle

from emulator import Model, Workspace

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


@pytest.fixture(scope="module")
def iris_pickle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pickle(tmp_path_factory.mktemp("model") / "iris.pkl")


def test_the_model_registers_in_a_fresh_workspace(
    aml_workspace: Workspace, iris_pickle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(iris_pickle.parent)
    model = Model.register(aml_workspace, "iris.pkl", "iris", tags={"team": "ml"})
    assert model.version == 1
    assert [m.name for m in Model.list(aml_workspace)] == ["iris"]


def test_aci_service_predicts_species(aml_deploy, iris_pickle: Path) -> None:
    service = aml_deploy("score_iris.py", models=[iris_pickle], cpu_cores=1, memory_gb=1)
    assert service.state == "Healthy"
    assert service.run(json.dumps({"data": ROWS})) == [0, 2]


def test_aks_service_needs_its_key(aml_deploy) -> None:
    # Relative paths are found beside this file: the JSON-weights twin of the model.
    service = aml_deploy("score_linear.py", models=["iris-weights.json"], target="aks")
    request = urllib.request.Request(
        service.scoring_uri,
        data=json.dumps({"data": ROWS}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    request.add_header("Authorization", f"Bearer {service.get_keys()[0]}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.load(answer) == [0, 2]


@pytest.mark.aml(target="local")
def test_local_service_from_the_marker_target(aml_deploy) -> None:
    service = aml_deploy("score_linear.py", models={"iris-weights": "iris-weights.json"})
    assert service.state == "running"
    assert service.scoring_uri.startswith("http://localhost:")
    assert service.run(json.dumps({"data": ROWS[:1]})) == [0]


@pytest.mark.aml_reuse
@pytest.mark.parametrize("row, species", [(ROWS[0], 0), (ROWS[1], 2)])
def test_shared_service_scores_each_row(aml_deploy, row, species) -> None:
    service = aml_deploy("score_linear.py", models=["iris-weights.json"])  # once per worker
    assert service.run(json.dumps({"data": [row]})) == [species]


def test_blob_download_under_the_mock(aml_mock, iris_pickle: Path) -> None:
    import requests

    url = "https://mystorage.blob.core.windows.net/models/iris.pkl?sv=2020-08-04&sig=x"
    aml_mock.add_blob(url, iris_pickle)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == iris_pickle.read_bytes()

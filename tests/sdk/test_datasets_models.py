"""Datasets on models, through the shim: ``Model.register(sample_input_dataset=,
sample_output_dataset=, resource_configuration=)`` shown back on the model, and
``Model.profile`` sending a registered dataset's rows as its requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A workspace whose default datastore holds requests.csv; a model file in the workdir."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "requests.csv").write_text('body\n"{""x"": 1}"\n"{""x"": 2}"\n')
    (work / "data" / "wide.csv").write_text("a,b\n1,2\n")
    (work / "model.pkl").write_bytes(b"weights")
    monkeypatch.chdir(work)
    with mock_aml(root=tmp_path / "root", strict=False):
        from azureml.core import Workspace

        workspace = Workspace.get("ws", subscription_id="sub", resource_group="rg")
        workspace.get_default_datastore().upload("data", "samples", show_progress=False)
        yield workspace


def test_sample_datasets_and_resources_are_kept_on_the_model(ws: Any) -> None:
    from azureml.core import Dataset, Model
    from azureml.core.resource_configuration import ResourceConfiguration

    store = ws.get_default_datastore()
    inputs = Dataset.Tabular.from_delimited_files((store, "samples/requests.csv")).register(
        ws, "requests"
    )
    outputs = Dataset.File.from_files((store, "samples/wide.csv"))  # never registered
    model = Model.register(
        ws,
        model_path="model.pkl",
        model_name="scorer",
        sample_input_dataset=inputs,
        sample_output_dataset=outputs,
        resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
    )
    for seen in (model, Model(ws, "scorer"), ws.models["scorer"]):
        assert seen.sample_input_dataset.name == "requests"
        assert seen.sample_input_dataset.id == inputs.id
        assert seen.sample_output_dataset.to_path() == ["/wide.csv"]
        assert seen.sample_output_dataset.id == outputs.id is not None
        assert seen.resource_configuration == ResourceConfiguration(1, 0.5, None)
    payload = model.serialize()
    assert payload["sampleInputData"] == f"aml://dataset/{inputs.id}"
    assert payload["resourceRequirements"] == {"cpu": 1, "memoryInGB": 0.5, "gpu": None}
    plain = Model.register(ws, "model.pkl", "plain")
    assert (plain.sample_input_dataset, plain.resource_configuration) == (None, None)
    assert plain.serialize()["resourceRequirements"] is None
    plain.update(description="now with samples", sample_input_dataset=inputs)
    plain.update(resource_configuration=ResourceConfiguration(cpu=2, gpu=1))
    again = Model(ws, "plain")
    assert again.description == "now with samples"
    assert again.sample_input_dataset.id == inputs.id
    assert again.resource_configuration == ResourceConfiguration(cpu=2, gpu=1)


def test_bad_samples_and_resources_are_refused_before_anything_is_registered(ws: Any) -> None:
    from azureml.core import Model
    from azureml.core.resource_configuration import ResourceConfiguration
    from azureml.exceptions import WebserviceException

    with pytest.raises(WebserviceException, match="Invalid sample input dataset of type"):
        Model.register(ws, "model.pkl", "bad", sample_input_dataset=["not", "a", "dataset"])
    with pytest.raises(WebserviceException, match="cpu must be greater than zero"):
        Model.register(ws, "model.pkl", "bad", resource_configuration=ResourceConfiguration(cpu=-1))
    with pytest.raises(WebserviceException, match="gpu must be integer"):
        ResourceConfiguration(gpu=0.5)._validate_configuration()
    assert Model.list(ws, name="bad") == []
    assert ResourceConfiguration.deserialize({"cpu": 2, "memoryInGB": 4, "gpu": 1}) == (
        ResourceConfiguration(2, 4, 1)
    )
    with pytest.raises(WebserviceException, match="missing memoryInGB"):
        ResourceConfiguration.deserialize({"cpu": 2, "gpu": 1})


def test_model_profile_sends_the_datasets_rows_as_requests(
    ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azureml.core import Dataset, Environment, Model
    from azureml.core.model import InferenceConfig
    from azureml.exceptions import WebserviceException

    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    seen = tmp_path / "seen.txt"
    Path("score.py").write_text(
        "def init():\n    pass\n\n\n"
        "def run(raw_data):\n"
        f"    with open({str(seen)!r}, 'a') as fh:\n"
        "        fh.write(raw_data + '\\n')\n"
        "    return raw_data\n"
    )
    env = Environment("profile-env")
    env.python.user_managed_dependencies = True
    config = InferenceConfig(entry_script="score.py", environment=env)
    store = ws.get_default_datastore()
    requests = Dataset.Tabular.from_delimited_files((store, "samples/requests.csv")).register(
        ws, "profile-requests"
    )
    model = Model.register(ws, "model.pkl", "scorer")
    profile = Model.profile(ws, "from-dataset", [model], config, input_dataset=requests)
    profile.wait_for_completion()
    assert profile.state == "Succeeded", profile.get_details()
    assert set(seen.read_text().splitlines()) == {'{"x": 1}', '{"x": 2}'}
    assert profile.input_dataset_id == requests.id
    wide = Dataset.Tabular.from_delimited_files((store, "samples/wide.csv"))
    with pytest.raises(WebserviceException, match=r"exactly one column.*a, b.*keep_columns"):
        Model.profile(ws, "too-wide", [model], config, input_dataset=wide)


def test_dataset_references_by_scenario_are_kept_and_added_to(ws: Any) -> None:
    from azureml.core import Dataset, Model
    from azureml.exceptions import WebserviceException

    store = ws.get_default_datastore()
    training = Dataset.Tabular.from_delimited_files((store, "samples/wide.csv")).register(
        ws, "training"
    )
    scoring = Dataset.File.from_files((store, "samples/requests.csv"))
    model = Model.register(ws, "model.pkl", "referenced", datasets=[("training", training)])
    assert [d.id for d in model.datasets["training"]] == [training.id]
    model.add_dataset_references([("scoring", scoring), ("training", training)])
    again = Model(ws, "referenced", version=1)
    assert sorted(again.datasets) == ["scoring", "training"]
    assert len(again.datasets["training"]) == 2
    assert again.datasets["scoring"][0].to_path() == ["/requests.csv"]
    assert {"name": "scoring", "id": scoring.id} in again.serialize()["datasets"]
    Model.register(ws, "model.pkl", "unrelated")
    assert [m.name for m in Model.list(ws, dataset_id=training.id)] == ["referenced"]
    assert Model.list(ws, dataset_id=scoring.id)[0].name == "referenced"
    with pytest.raises(WebserviceException, match="Invalid dataset of type"):
        Model.register(ws, "model.pkl", "bad", datasets=[("training", "not a dataset")])
    with pytest.raises(WebserviceException, match=r"list of \(scenario, dataset\) tuples"):
        model.add_dataset_references("training")

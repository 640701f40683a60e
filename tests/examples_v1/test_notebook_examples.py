"""The SDK v1 notebook-style flows of ``examples/``, run as a user runs them (``amlemu run
examples/<script>`` in a fresh folder and emulator root), checked by what they print.

The issue-16 pieces as deployment notebooks use them: the environment registry, datasets with
``Model.profile``, AKS controlled rollout, and model data collection. Host-builder images,
instant clusters. (The older flows run elsewhere: ``seed_walkthrough.py`` as ``amlemu demo`` in
tests/test_cli.py, the others in the tests that name them.)
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from assets import run_example

pytestmark = pytest.mark.slow


def _after(out: str, marker: str) -> str:
    """The rest of the line that starts with ``marker``."""
    match = re.search(rf"^{re.escape(marker)}(.*)$", out, re.MULTILINE)
    assert match is not None, f"{marker!r} not in:\n{out}"
    return match.group(1).strip()


def test_environment_registry_curated_versions_and_a_deployment(tmp_path: Path) -> None:
    out = run_example("environment_registry.py", tmp_path)
    assert int(_after(out, "Curated environments:")) >= 4
    assert _after(out, "AzureML-Minimal python:") == "3.6.2"
    assert "azureml-defaults==1.36.0" in _after(out, "AzureML-Minimal pip packages:")
    assert _after(out, "Cannot register a curated environment:") == "UserErrorException"
    saved = (tmp_path / "iris-env.yml").read_text()
    assert "- azureml-defaults" in saved and "- inference-schema" in saved
    registered = re.findall(r"^Registered: iris-env version (\d+)$", out, re.MULTILINE)
    assert registered == ["1", "2"]
    assert _after(out, "Version 1 labels:") == "setosa,versicolor,virginica"
    assert _after(out, "In ws.environments:") == "True"
    assert _after(out, "Service state:") == "Healthy"
    assert _after(out, "Service environment:") == "iris-env version 2"
    # version 2's environment variables reached the scoring container
    assert _after(out, "Predictions:") == "['Iris-setosa', 'Iris-virginica']"


def test_datasets_register_model_samples_and_profile(tmp_path: Path) -> None:
    out = run_example("datasets_and_profile.py", tmp_path)
    assert _after(out, "Default datastore:") == "workspaceblobstore"
    assert _after(out, "Registered dataset:") == "iris-features version 1"
    if importlib.util.find_spec("pandas") is None:
        assert "pip install pandas" in _after(out, "to_pandas_dataframe:")
    else:
        head = out.split("First rows:\n", 1)[1].splitlines()
        assert "sepal_length" in head[0] and "5.1" in head[1] and len(head) > 3
    assert _after(out, "Model:") == "iris-linear version 1"
    assert _after(out, "Sample input dataset:") == "iris-features"
    assert ast.literal_eval(_after(out, "Resource configuration:")) == {
        "cpu": 1,
        "memoryInGB": 0.5,
        "gpu": None,
    }
    assert 'Profiling operation finished, operation "Succeeded"' in out
    assert _after(out, "Profile state:") == "Succeeded"
    recommended = re.fullmatch(r"([\d.]+) memory \(GB\): ([\d.]+)", _after(out, "Recommended cpu:"))
    assert recommended is not None
    cpu, memory = recommended.groups()
    assert float(cpu) > 0 and float(memory) > 0


def test_aks_controlled_rollout_splits_traffic_by_percentile(tmp_path: Path) -> None:
    out = run_example("aks_controlled_rollout.py", tmp_path)
    assert _after(out, "Model versions:") == "1 2"
    assert ast.literal_eval(_after(out, "Prediction:")) == {"model": "first", "predictions": [0, 2]}

    def traffic(step: str) -> dict[str, int]:
        return ast.literal_eval(_after(out, f"Traffic {step}:"))

    assert traffic("with version A alone") == {"first": 20}
    assert "  versiona: 20% default=True" in out.splitlines()
    assert "  versionb: 10% default=False" in out.splitlines()
    # A: its 20 % plus the 70 % no version claims (it is the default); B: 10 %
    assert traffic("with B at 10%") == {"first": 18, "retrained": 2}
    assert _after(out, "Version B:") == "Control default: True"
    # B: 40 % plus the unclaimed 40 %; A: 20 %
    assert traffic("with B at 40% and default") == {"retrained": 16, "first": 4}
    assert _after(out, "Versions left:") == "['versionb']"
    assert traffic("after deleting A") == {"retrained": 20}


def test_model_data_collection_writes_correlated_inputs_and_predictions(tmp_path: Path) -> None:
    out = run_example("model_data_collection.py", tmp_path)
    assert ast.literal_eval(_after(out, "Data collection:")) == {
        "eventHubEnabled": False,
        "storageEnabled": True,
    }
    assert re.findall(r"^Prediction: (.*)$", out, re.MULTILINE) == ["['setosa', 'virginica']"] * 3
    files = re.findall(r"^Collected file: (\S+) lines: (\d+)$", out, re.MULTILINE)
    headers = [ast.literal_eval(h) for h in re.findall(r"^  header: (.*)$", out, re.MULTILINE)]
    rows = [ast.literal_eval(r) for r in re.findall(r"^  first row: (.*)$", out, re.MULTILINE)]
    assert len(files) == len(headers) == len(rows) >= 2
    rows_by_designation: dict[str, int] = {}
    first: dict[str, tuple[list[str], list[str]]] = {}
    for (path, lines), header, row in zip(files, headers, rows, strict=True):
        # Azure's blob path below the service: <model>/<version>/<designation>/<y>/<m>/<d>/data.csv
        model, version, designation, *day, name = path.split("/")
        assert (model, version, name, len(day)) == ("iris-monitored", "1", "data.csv", 3)
        rows_by_designation[designation] = rows_by_designation.get(designation, 0) + int(lines) - 1
        first.setdefault(designation, (header, row))
    assert rows_by_designation == {"inputs": 6, "predictions": 6}  # 3 requests x 2 rows each
    (input_header, input_row), (prediction_header, prediction_row) = (
        first["inputs"],
        first["predictions"],
    )
    assert input_header == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "$aml_dc_correlation_id",
    ]
    assert prediction_header[:2] == ["species", "$aml_dc_correlation_id"]
    assert input_row[:4] == ["5.1", "3.5", "1.4", "0.2"]
    assert prediction_row[0] == "setosa"
    assert prediction_row[1] == input_row[4]  # the prediction carries its input's correlation id

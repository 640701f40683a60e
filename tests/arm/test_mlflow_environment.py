"""The environment Azure derives for an MLflow model deployed without one, read from the model's
own files (emulator.environments.mlflow_model): conda.yaml first, else python_env.yaml and its
requirements, else requirements.txt; the inference server added, and mlflow when the model
lists neither mlflow nor mlflow-skinny; models Azure cannot serve refused naming why. And the
parts of the built-in batch driver that need no pandas (it runs in the model's image)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from emulator.batch import mlflow_driver
from emulator.environments.mlflow_model import (
    MODEL_FOLDER_ENV,
    read_mlflow_model,
    serving_environment,
)
from emulator.exceptions import BadArgument
from tests.arm.mlflow_support import MLFLOW_SKINNY, write_mlflow_model

PYFUNC_ONLY = "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"


def _pip(folder: Path) -> list[str]:
    environment = serving_environment(read_mlflow_model(folder), "m", "model")
    return sorted(environment.python.conda_dependencies.pip_packages)


def test_the_conda_file_is_the_environment_plus_the_inference_server(tmp_path: Path) -> None:
    folder = write_mlflow_model(tmp_path / "model")
    model = read_mlflow_model(tmp_path)  # the registered folder's parent: MLmodel found below
    assert model.folder == folder and model.flavors == ("python_function", "sklearn")
    assert model.loader_module == "mlflow.sklearn"
    environment = serving_environment(model, "mlflow-linear", "model")
    conda = environment.python.conda_dependencies
    assert MLFLOW_SKINNY in conda.pip_packages  # the model's own mlflow; none added
    assert "mlflow" not in conda.pip_packages
    assert "azureml-inference-server-http" in conda.pip_packages
    assert conda.get_python_version() is not None
    assert environment.environment_variables == {MODEL_FOLDER_ENV: "model"}


def test_without_a_conda_file_python_env_and_its_requirements_are_read(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text(PYFUNC_ONLY)
    (tmp_path / "python_env.yaml").write_text(
        "python: 3.11.7\ndependencies:\n- -r requirements.txt\n- cloudpickle==3.1.0\n"
    )
    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.0  # the model's\n")
    assert _pip(tmp_path) == [
        "azureml-inference-server-http",
        "cloudpickle==3.1.0",
        "mlflow",  # added: the model lists no mlflow
        "scikit-learn==1.5.0",
    ]
    environment = serving_environment(read_mlflow_model(tmp_path), "m", ".")
    assert environment.python.conda_dependencies.get_python_version() == "3.11.7"
    (tmp_path / "python_env.yaml").unlink()
    assert _pip(tmp_path) == ["azureml-inference-server-http", "mlflow", "scikit-learn==1.5.0"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "is registered as mlflow_model but has no MLmodel file"),
        ({"MLmodel": "flavors: [unclosed"}, "is not valid YAML"),
        (
            {"MLmodel": "flavors:\n  sklearn:\n    pickled_model: model.pkl\n"},
            "has no python_function flavor (its flavors: sklearn)",
        ),
        ({"MLmodel": PYFUNC_ONLY}, "names no environment: none of conda.yaml"),
        (
            {"MLmodel": PYFUNC_ONLY, "requirements.txt": "-c constraints.txt\nnumpy\n"},
            "has the pip option '-c constraints.txt'",
        ),
        (
            {"MLmodel": PYFUNC_ONLY, "requirements.txt": "-r requirements.txt\nnumpy\n"},
            "requirements.txt includes itself (-r)",
        ),
        (
            {"MLmodel": PYFUNC_ONLY, "requirements.txt": "-r ../outside.txt\n"},
            "names '../outside.txt', which is outside its folder",
        ),
        (
            {"MLmodel": PYFUNC_ONLY + "    env:\n      conda: ../outside.txt\n"},
            "names '../outside.txt', which is outside its folder",
        ),
    ],
)
def test_a_model_azure_cannot_serve_is_refused_naming_why(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("numpy\n")  # a host file a model must not reach
    for name, text in files.items():
        (folder / name).write_text(text)
    with pytest.raises(BadArgument) as refused:
        serving_environment(read_mlflow_model(folder), "m", "model")
    assert message in refused.value.message


def test_the_batch_driver_refuses_other_files_and_gives_one_value_per_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure's built-in MLflow batch driver (run in the image; its pandas-free parts here)."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an environment without pyarrow
    with pytest.raises(ValueError) as parquet:
        mlflow_driver.read_table(tmp_path / "part-0.parquet")
    assert "pandas reads with pyarrow, and the model's environment does not have it" in str(
        parquet.value
    )
    with pytest.raises(ValueError) as refused:
        mlflow_driver.read_table(tmp_path / "scan.png")
    assert "File 'scan.png' is not a table the MLflow batch driver reads (.csv, .parquet" in str(
        refused.value
    )
    assert mlflow_driver.values_of(np.array([1.5, 2.5])) == [1.5, 2.5]
    assert mlflow_driver.values_of(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert mlflow_driver.values_of(np.float64(3.0)) == [3.0]
    tree = tmp_path / "tree"
    (tree / "emulator" / "batch").mkdir(parents=True)
    copy = tree / "emulator" / "batch" / "mlflow_driver.py"
    copy.write_text("")
    assert mlflow_driver.driver_script([tmp_path, tree]) == copy  # the image's python tree
    assert mlflow_driver.driver_script([]) == Path(mlflow_driver.__file__).resolve()

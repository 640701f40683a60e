"""An MLflow model folder written as ``mlflow.sklearn.save_model(..., serialization_format=
"pickle")`` of mlflow 3.18 writes it (MLmodel with the sklearn and python_function flavors,
conda.yaml, python_env.yaml, requirements.txt, model.pkl), without mlflow in the test
environment: a linear model of two columns ``a`` and ``b`` predicting ``2a + 3b``.

Its environment pins what this test environment has (python, numpy, scikit-learn: the pickle
loads in the image as here) plus ``mlflow-skinny`` and pandas, which the image builder installs
into the deployment's image (never into this interpreter)."""

from __future__ import annotations

import pickle
import platform
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression

#: What the model's environment installs beyond this interpreter's packages.
MLFLOW_SKINNY = "mlflow-skinny==3.18.0"
PANDAS = "pandas==3.1.1"

MLMODEL = """\
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: {python}
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: pickle
    sklearn_version: {sklearn}
    skops_trusted_types: null
is_signature_from_type_hint: false
mlflow_version: 3.18.0
model_id: null
model_size_bytes: {size}
model_uuid: 8fee3c12d3fe46fb8981cc39bb2788b7
prompts: null
signature:
  inputs: '[{{"type": "double", "name": "a", "required": true}}, {{"type": "double",
    "name": "b", "required": true}}]'
  outputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "float64", "shape": [-1]}}}}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-12-03 18:01:53.172712'
"""


def predict(a: float, b: float) -> float:
    """What the model answers for one row."""
    return 2 * a + 3 * b


def write_mlflow_model(folder: Path) -> Path:
    """The model folder (``folder`` itself, created) with every file mlflow writes."""
    folder.mkdir(parents=True)
    features = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [0.0, 2.0]])
    estimator = LinearRegression().fit(features, [predict(a, b) for a, b in features])
    (folder / "model.pkl").write_bytes(pickle.dumps(estimator))
    python = platform.python_version()
    requirements = [MLFLOW_SKINNY, f"numpy=={np.__version__}", PANDAS]
    requirements.append(f"scikit-learn=={sklearn.__version__}")
    size = (folder / "model.pkl").stat().st_size
    (folder / "MLmodel").write_text(
        MLMODEL.format(python=python, sklearn=sklearn.__version__, size=size)
    )
    pip = "".join(f"  - {line}\n" for line in requirements)
    (folder / "conda.yaml").write_text(
        f"channels:\n- conda-forge\ndependencies:\n- python={python}\n- pip\n- pip:\n{pip}"
        "name: mlflow-env\n"
    )
    (folder / "python_env.yaml").write_text(
        f"python: {python}\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\n"
        "dependencies:\n- -r requirements.txt\n"
    )
    (folder / "requirements.txt").write_text("".join(f"{line}\n" for line in requirements))
    return folder

"""The scoring script of no-code MLflow online deployments (copied into the image as its entry
script; never imported by the emulator itself).

Azure serves an MLflow model deployed without a scoring script with a script of its own on its
inference server: ``init()`` loads the model with ``mlflow.pyfunc.load_model`` from
``$AZUREML_MODEL_DIR/$MLFLOW_MODEL_FOLDER``; ``run()`` is decorated with inference-schema's
``@input_schema("input_data", ...)`` (azureml-inference-server-http moved to inference-schema
1.7 "to support MLflow NCD", its changelog), so the server itself refuses a body that is not a
JSON object, or has no ``input_data`` key, with its 400 text. ``input_data`` is read as Azure's
documented forms (the ones azureml-mlflow's deployment client sends): a pandas DataFrame in
``split`` orientation (``columns``/``index``/``data``), a list of JSON objects (a DataFrame's
records), a list (a tensor, ``numpy.ndarray``), or an object of lists (named tensors,
``dict[str, ndarray]``); an optional ``params`` object goes to ``predict`` (MLflow 2.x models
with parameters). The predictions come back as a JSON list (a DataFrame's rows as records).

It imports only the standard library and inference-schema (which every image has) at load
time; mlflow, numpy and pandas come from the model's environment, installed in the image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from inference_schema.parameter_types.standard_py_parameter_type import (
    StandardPythonParameterType,
)
from inference_schema.schema_decorators import input_schema

#: Where the model's folder is, under ``AZUREML_MODEL_DIR`` (set in the derived environment).
MODEL_FOLDER_ENV = "MLFLOW_MODEL_FOLDER"

_model: Any = None


def init() -> None:
    """Load the model as Azure does: ``mlflow.pyfunc.load_model`` on its folder."""
    global _model
    import mlflow.pyfunc

    folder = Path(os.environ["AZUREML_MODEL_DIR"]) / os.environ.get(MODEL_FOLDER_ENV, "")
    _model = mlflow.pyfunc.load_model(str(folder))


@input_schema(
    "params", StandardPythonParameterType({}), convert_to_provided_type=False, optional=True
)
@input_schema("input_data", StandardPythonParameterType({}), convert_to_provided_type=False)
def run(input_data: Any, params: dict[str, Any] | None = None) -> Any:
    """The model's predictions for ``input_data`` (see the module docstring), JSON-ready."""
    model_input = model_input_of(input_data)
    if params:
        return jsonable(_model.predict(model_input, params=params))
    return jsonable(_model.predict(model_input))


def model_input_of(input_data: Any) -> Any:
    """``input_data`` as the value ``predict`` takes: DataFrame, ndarray or dict of ndarrays."""
    import numpy as np
    import pandas as pd

    if isinstance(input_data, dict) and {"columns", "index", "data"} <= input_data.keys():
        # Azure's test for the split orientation: all three keys (else named tensors).
        return pd.DataFrame(
            input_data["data"], columns=input_data["columns"], index=input_data["index"]
        )
    if isinstance(input_data, list):
        if input_data and all(isinstance(item, dict) for item in input_data):
            return pd.DataFrame.from_records(input_data)
        return np.asarray(input_data)
    if isinstance(input_data, dict) and input_data:
        return {name: np.asarray(value) for name, value in input_data.items()}
    raise ValueError(
        "input_data must be a DataFrame in split orientation ({'columns': [...], 'index': "
        "[...], 'data': [[...]]}), a list of records, a list (a tensor) or an object of lists "
        f"(named tensors), not {type(input_data).__name__}: {input_data!r:.200}"
    )


def jsonable(predictions: Any) -> Any:
    """Predictions as JSON values: a DataFrame's rows as records, a Series' or an array's
    values as (nested) lists, a dict's values each so."""
    kind = type(predictions)
    if kind.__module__.startswith("pandas"):
        orient = "records" if kind.__name__ == "DataFrame" else "values"
        return json.loads(predictions.to_json(orient=orient))
    if isinstance(predictions, dict):
        return {str(key): jsonable(value) for key, value in predictions.items()}
    if callable(getattr(predictions, "tolist", None)):
        return predictions.tolist()
    if isinstance(predictions, list | tuple):
        return [jsonable(value) for value in predictions]
    return predictions

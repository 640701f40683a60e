"""The built-in scoring script of MLflow batch deployments without code: the worker
(:mod:`emulator.batch.worker`) loads this file from the image's python tree as the job's
scoring script (:func:`driver_script` finds it; :mod:`emulator.state.batch_runs` chooses it).

Azure runs an MLflow model deployed to a batch endpoint without a scoring script with a driver
of its own: ``init()`` loads the model with ``mlflow.pyfunc.load_model``; ``run(mini_batch)``
reads each file as a table (CSV; Parquet when pyarrow is installed in the model's environment),
predicts, and returns one row per input row, ``row prediction file`` (the row's number in its
file, the prediction, the file's name), which ``append_row`` writes into ``predictions.csv``.
A file of another type fails its mini-batch naming the types read.

Only the standard library is imported at load time; mlflow and pandas come from the model's
environment, installed in the image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Where the model's folder is, under ``AZUREML_MODEL_DIR`` (set in the derived environment).
MODEL_FOLDER_ENV = "MLFLOW_MODEL_FOLDER"
#: The file types read, by suffix, and the pandas reader of each.
READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pqt": "read_parquet"}

_model: Any = None


def init() -> None:
    """Load the model as Azure does: ``mlflow.pyfunc.load_model`` on its folder."""
    global _model
    import mlflow.pyfunc

    folder = Path(os.environ["AZUREML_MODEL_DIR"]) / os.environ.get(MODEL_FOLDER_ENV, "")
    _model = mlflow.pyfunc.load_model(str(folder))


def run(mini_batch: list[str]) -> Any:
    """One output row per input row of every file of ``mini_batch`` (a pandas DataFrame)."""
    import pandas as pd

    rows: list[tuple[int, Any, str]] = []
    for path in mini_batch:
        table = read_table(Path(path))
        if table.empty:
            continue
        predictions = values_of(_model.predict(table))
        name = Path(path).name
        rows.extend((number, value, name) for number, value in enumerate(predictions))
    return pd.DataFrame(rows, columns=["row", "prediction", "file"])


def read_table(path: Path) -> Any:
    """The file as a DataFrame, by its suffix; ``ValueError`` naming the types read."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(
            f"File '{path.name}' is not a table the MLflow batch driver reads "
            f"({', '.join(sorted(READERS))}). Give the job CSV or Parquet files, or deploy "
            "the model with a scoring script that reads this type."
        )
    if reader == "read_parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(
                f"File '{path.name}' is Parquet, which pandas reads with pyarrow, and the "
                "model's environment does not have it. Add pyarrow to the model's conda.yaml "
                "or requirements, or give the job CSV files."
            ) from None
    import pandas as pd

    return getattr(pd, reader)(path)


def values_of(predictions: Any) -> list[Any]:
    """One value per input row: a DataFrame's rows (one column: its value; several: a list),
    a Series' or an array's first axis (a row of several outputs: a list)."""
    kind = type(predictions)
    if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame":
        if len(predictions.columns) == 1:
            return list(predictions.iloc[:, 0].tolist())
        return [list(row) for row in predictions.itertuples(index=False)]
    if callable(getattr(predictions, "tolist", None)):
        listed = predictions.tolist()
        return listed if isinstance(listed, list) else [listed]
    return list(predictions)


def driver_script(python_path: Sequence[Path]) -> Path:
    """This file as the image has it (its python tree, where the worker runs it from), else
    the emulator's own copy (an image whose interpreter imports the installed emulator)."""
    for entry in python_path:
        script = entry / "emulator" / "batch" / "mlflow_driver.py"
        if script.is_file():
            return script
    return Path(__file__).resolve()

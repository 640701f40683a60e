"""The offline end-to-end demo behind ``amlemu demo``.

It follows the seed notebook with unchanged ``azureml.core`` code: train a model, register it
(as a file and as a folder), lay out a two-model deployment exactly as an Azure ML container
sees it, and resolve the models with ``Model.get_model_path`` inside that container view and in
a local process. Image builds and web services join this demo as they land.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from emulator.activation import mock_aml
from emulator.models.layout import lay_out_models


def _step(text: str) -> None:
    print(f"\n== {text}")


def run_demo(keep: bool = False) -> int:
    try:
        import joblib
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        print(
            f"The demo trains a scikit-learn model: {exc}. Install it with: "
            "pip install 'azureml-emulator[demo]'"
        )
        return 1
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-demo-"))
    previous_cwd = os.getcwd()
    try:
        os.chdir(workdir)
        with mock_aml(root=workdir / "emulator-root"):
            from azureml.core import VERSION, Workspace
            from azureml.core.model import Model

            print(f"azureml-emulator demo (azureml.core {VERSION}, offline) in {workdir}")
            _step("Workspace")
            ws = Workspace.create(
                name="myworkspace",
                subscription_id="00000000-0000-0000-0000-000000000000",
                resource_group="myresourcegroup",
                location="eastus",
            )
            print(repr(ws))

            _step("Train and register a model file (versions 1 and 2)")
            X, y = load_iris(return_X_y=True)
            os.makedirs("outputs", exist_ok=True)
            joblib.dump(LogisticRegression(max_iter=500).fit(X, y), "outputs/model.pkl")
            for _ in range(2):
                model = Model.register(
                    workspace=ws,
                    model_path="outputs/model.pkl",
                    model_name="sklearn-iris",
                    tags={"area": "iris", "type": "classification"},
                    description="Iris classifier",
                )
            print(f"Model registered: {model.id}, library versions {model.library_versions}")

            _step("Register a folder model")
            os.makedirs("labels", exist_ok=True)
            Path("labels/classes.json").write_text(
                json.dumps(["setosa", "versicolor", "virginica"])
            )
            labels = Model.register(ws, "labels", "iris-labels", tags={"area": "iris"})
            print(f"Model registered: {labels.id}")
            print(
                "Models tagged area=iris:", [m.id for m in Model.list(ws, tags=[["area", "iris"]])]
            )
            print("ws.models:", {name: m.version for name, m in ws.models.items()})

            _step("Lay the models out as an Azure ML container sees them")
            app_root = workdir / "var" / "azureml-app"
            records = [model._record, labels._record]
            model_dir = lay_out_models(app_root, records, ws._root.blobs)
            for path in sorted(p for p in app_root.rglob("*") if p.is_file()):
                print("  ", path.relative_to(app_root))
            print(f"AZUREML_MODEL_DIR={model_dir}")

            _step("Model.get_model_path inside the container (AML_APP_ROOT set)")
            os.environ["AML_APP_ROOT"] = str(app_root)
            try:
                model_file = Model.get_model_path("sklearn-iris")
                labels_dir = Model.get_model_path("iris-labels")
            finally:
                del os.environ["AML_APP_ROOT"]
            print(f"get_model_path('sklearn-iris') -> {model_file}")
            print(f"get_model_path('iris-labels')  -> {labels_dir}")
            classes = json.loads((Path(labels_dir) / "classes.json").read_text())
            prediction = joblib.load(model_file).predict([[5.1, 3.5, 1.4, 0.2]])[0]
            print(f"prediction for [5.1, 3.5, 1.4, 0.2]: {classes[prediction]}")

            _step("Model.get_model_path in a local process (downloads from the registry)")
            print(f"-> {Model.get_model_path('sklearn-iris', _workspace=ws)}")
            try:
                Model.get_model_path("sklearn-irís")
            except Exception as exc:  # the SDK raises ModelNotFoundException here
                print(f"A misspelt name fails clearly:\n   {type(exc).__name__}: {exc}")

        print(
            f"\nDone in {time.perf_counter() - started:.1f}s. This release covers the registry "
            "and model layout; image builds and web services come next."
        )
    finally:
        os.chdir(previous_cwd)
        if keep:
            print(f"Demo files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0

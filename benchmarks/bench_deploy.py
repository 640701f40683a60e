"""Deploy-to-Healthy time of the seed model on the process runtime, environment cache warm.

Registers the seed's stand-in model (fixtures/models/build_nyc_taxi.py), builds the seed's
image once with the local (virtualenv) builder so the environment is cached, then deploys it to
ACI ``--runs`` times, timing ``deploy_from_image`` + ``wait_for_deployment`` (replica start,
imports, ``init()`` loading the model, first passing health probe). Prints JSON.

    python benchmarks/bench_deploy.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "examples" / "seed_walkthrough.py"


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-bench-deploy-"))
    os.chdir(workdir)
    os.environ["AZUREML_EMULATOR_ROOT"] = str(workdir / "root")
    os.environ.setdefault("AZUREML_EMULATOR_BUILDER", "local")

    import emulator
    from emulator import CondaDependencies, Model, Workspace
    from emulator.sdk.image import ContainerImage, Image
    from emulator.sdk.webservice import AciWebservice, Webservice

    _load(REPO / "fixtures" / "models" / "build_nyc_taxi.py").build(workdir / "model.pkl")
    source = SCRIPT.read_text()
    body = source.split('f.write("""', 1)[1].split('""")', 1)[0]
    (workdir / "scoring_service.py").write_text(body)
    env = CondaDependencies.create(
        conda_packages=["numpy", "scikit-learn"], pip_packages=["azureml-sdk[automl]"]
    )
    (workdir / "env.yml").write_text(env.serialize_to_string())

    with emulator.mock_aml():
        ws = Workspace.create("bench", subscription_id="s", resource_group="rg")
        model = Model.register(ws, "model.pkl", "nyc-taxi-automl-predictor")
        config = ContainerImage.image_configuration(
            "scoring_service.py", "python", conda_file="env.yml"
        )
        started = time.perf_counter()
        image = Image.create(ws, "seed-image", [model], config)
        image.wait_for_creation()
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        Image.create(ws, "seed-image", [model], config).wait_for_creation()
        cached_build_s = time.perf_counter() - started

        timings = []
        for run in range(args.runs):
            started = time.perf_counter()
            service = Webservice.deploy_from_image(
                ws, f"seed-{run}", image, AciWebservice.deploy_configuration(cpu_cores=1)
            )
            service.wait_for_deployment()
            timings.append(time.perf_counter() - started)
            assert service.run(json.dumps([1, 2, 5, 9, 4, 27, 5, "None", True, 0, 0, 0, 65]))
            service.delete()
    print(
        json.dumps(
            {
                "benchmark": "deploy_to_healthy",
                "runtime": "process",
                "builder": os.environ["AZUREML_EMULATOR_BUILDER"],
                "first_build_s": round(build_s, 3),
                "cached_build_s": round(cached_build_s, 3),
                "deploy_to_healthy_s": [round(t, 3) for t in timings],
                "median_s": round(statistics.median(timings), 3),
                "max_s": round(max(timings), 3),
                "target_s": 1.5,
            }
        )
    )


if __name__ == "__main__":
    main()

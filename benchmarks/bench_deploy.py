"""Deploy-to-Healthy time of the seed model on the process runtime, cold and warm, against the
floor of importing the scoring script and running its ``init()`` in a fresh interpreter.

Registers the seed's stand-in model (fixtures/models/build_nyc_taxi.py, a scikit-learn
pipeline), builds the seed's image once with the local (virtualenv) builder so the environment
is cached, then per run, side by side: the **floor** (a fresh interpreter of the image's
environment, in its app root with its variables, timing ``import`` of the script + ``init()``
inside it, the shim active as in a worker), a **cold** deployment
(``AZUREML_EMULATOR_WARM_START=0``: two fresh interpreters per replica) and a **warm** one
(forked from the image environment's zygote, started by a deployment made before the runs and
reported as ``warm_first_s``). A deployment is timed from ``deploy_from_image`` to the end of
``wait_for_deployment`` (replica start, imports, ``init()`` loading the model, first passing
health probe), then scored once and deleted. Ratios are per run (deployment / that run's
floor); the medians are the goals' numbers. The machine's load average is reported, as the
timings depend on it. Prints JSON.

    python benchmarks/bench_deploy.py [--runs 5] [--root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "examples" / "seed_walkthrough.py"
#: The floor, run in the image's interpreter: what a worker does for the script, timed.
FLOOR_CODE = """
import importlib.util, json, os, sys, time
started = time.perf_counter()
from emulator.shim import activate
activate()
sys.path.append(os.environ["AML_APP_ROOT"])
path = os.path.join(os.environ["AML_APP_ROOT"], os.environ["AZUREML_ENTRY_SCRIPT"])
spec = importlib.util.spec_from_file_location("entry_module", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
module.init()
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "init_s": done - imported}))
"""


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--root", help="emulator root to use (reuses its cached environments); default: a new one"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-bench-deploy-"))
    os.chdir(workdir)
    os.environ["AZUREML_EMULATOR_ROOT"] = args.root or str(workdir / "root")
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

    # The SDK's progress lines go to stderr: stdout is the JSON report only.
    with emulator.mock_aml(), contextlib.redirect_stdout(sys.stderr):
        ws = Workspace.create("bench", subscription_id="s", resource_group="rg", exist_ok=True)
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

        tag = workdir.name[-6:].lower().replace("_", "0")  # names unique in a reused root

        def deploy(name: str, warm: bool) -> float:
            os.environ[WARM_START_ENV] = "1" if warm else "0"
            started = time.perf_counter()
            service = Webservice.deploy_from_image(
                ws, f"{name}-{tag}", image, AciWebservice.deploy_configuration(cpu_cores=1)
            )
            service.wait_for_deployment()
            elapsed = time.perf_counter() - started
            assert service.state == "Healthy", service.get_logs()
            prediction = service.run(json.dumps(SAMPLE))
            assert str(prediction).startswith("["), prediction  # a prediction, not an error
            log = service.get_logs()
            assert (COLD in log) is not warm, log
            service.delete()
            return elapsed

        load_before = os.getloadavg()
        warm_first_s = deploy("seed-warm-first", warm=True)
        floors: list[float] = []
        cold: list[float] = []
        warm: list[float] = []
        for run in range(args.runs):
            floors.append(_floor(image.image_location))
            cold.append(deploy(f"seed-cold-{run}", warm=False))
            warm.append(deploy(f"seed-warm-{run}", warm=True))
        load_after = os.getloadavg()
    median_floor = statistics.median(floors)
    cold_ratios = [c / f for c, f in zip(cold, floors, strict=True)]
    warm_ratios = [w / f for w, f in zip(warm, floors, strict=True)]
    print(
        json.dumps(
            {
                "benchmark": "deploy_to_healthy",
                "runtime": "process",
                "builder": os.environ["AZUREML_EMULATOR_BUILDER"],
                "cpus": os.cpu_count(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
                "first_build_s": round(build_s, 3),
                "cached_build_s": round(cached_build_s, 3),
                "floor_import_init_s": _rounded(floors),
                "cold_deploy_to_healthy_s": _rounded(cold),
                "warm_first_deploy_to_healthy_s": round(warm_first_s, 3),
                "warm_deploy_to_healthy_s": _rounded(warm),
                "cold_over_floor": _rounded(cold_ratios),
                "warm_over_floor": _rounded(warm_ratios),
                "median_floor_s": round(median_floor, 3),
                "median_cold_s": round(statistics.median(cold), 3),
                "median_warm_s": round(statistics.median(warm), 3),
                "median_cold_over_floor": round(statistics.median(cold_ratios), 3),
                "median_warm_over_floor": round(statistics.median(warm_ratios), 3),
                "goal_warm_over_floor": 0.5,
                "goal_cold_s": 1.5,
            }
        )
    )


SAMPLE = [1, 2, 5, 9, 4, 27, 5, "None", True, 0, 0, 0, 65]
COLD = "[emulator] Cold start (no warm interpreter)"
WARM_START_ENV = "AZUREML_EMULATOR_WARM_START"


def _rounded(values: list[float]) -> list[float]:
    return [round(value, 3) for value in values]


def _floor(image_location: str) -> float:
    """``import`` + ``init()`` of the image's script in a fresh interpreter of its environment,
    with its variables and working directory, as a worker would (timed inside it)."""
    from emulator.images.builders.local import load_local_image
    from emulator.runtime.backends.base import LaunchSpec
    from emulator.runtime.backends.process import container_environment

    image = load_local_image(image_location)
    spec = LaunchSpec("floor", image_location, 0, Path(os.devnull))
    done = subprocess.run(
        [str(image.python), "-c", FLOOR_CODE],
        cwd=image.app_root,
        env=container_environment(image, spec),
        capture_output=True,
        text=True,
        check=True,
    )
    timed = json.loads(done.stdout.strip().splitlines()[-1])
    return float(timed["import_s"] + timed["init_s"])


if __name__ == "__main__":
    main()

"""Create an online endpoint and a deployment to ``Succeeded`` through the real ``azure-ai-ml``.

Starts the emulator's HTTPS server in this process on a fresh root (as ``amlemu up`` would),
points an unchanged ``MLClient(DefaultAzureCredential(), ...)`` at it with ``amlemu env``'s
variables, and creates one endpoint + deployment untimed so the environment's virtualenv is
built and cached (the local builder; ``AZUREML_EMULATOR_BUILDER`` may choose another). Then
``--runs`` times: ``online_endpoints.begin_create_or_update(...).result()`` and
``online_deployments.begin_create_or_update(...).result()`` of a new endpoint, timed together.
The model and code are the same files each run (the client skips the unchanged uploads, as it
does against Azure, and the image built from them is reused); ``--fresh-code`` changes the
scoring script before each run, so each run uploads it and builds an image on the cached
environment. Prints JSON: the median and every run, and where a run's time goes
(endpoint, deployment's client side = asset checks/uploads + PUT + polling, image build,
replica start to ``init()`` returned), measured by wrapping the provisioning steps.

    python benchmarks/bench_v2_deploy.py [--runs 5] [--fresh-code]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SUB = "11111111-2222-3333-4444-555555555555"
SCORE = """
import json, os

def init():
    global factor
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "factor.txt")) as f:
        factor = int(f.read())

def run(raw):
    return {"scaled": [x * factor for x in json.loads(raw)["data"]]}
"""


def _timed(phases: dict[str, float], name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, adding its duration to ``phases[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

    return wrapper


@contextlib.contextmanager
def _server(root: Path) -> Iterator[None]:
    """The emulator's server on ``root`` and ``amlemu env``'s variables for it."""
    from emulator.daemon.client_env import client_environment
    from emulator.daemon.server import EmulatorServer
    from emulator.store.root import EmulatorRoot

    os.environ["AZUREML_EMULATOR_ROOT"] = str(root)
    with EmulatorServer(EmulatorRoot(root)) as server:
        variables = client_environment(
            server.ca, server.base_url, server.identity_secret, os.environ
        )
        os.environ.update(variables)
        yield


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--fresh-code",
        action="store_true",
        help="change score.py before each run: a new code version, so a new image is built "
        "(on the cached environment) instead of the identical one being reused",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-bench-v2-"))
    (workdir / "factor.txt").write_text("3")
    (workdir / "src").mkdir()
    (workdir / "src" / "score.py").write_text(SCORE)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT"):
        os.environ.pop(name, None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # marshmallow's warnings about the client's own schemas
        from azure.ai.ml import MLClient
        from azure.ai.ml.entities import (
            CodeConfiguration,
            Environment,
            ManagedOnlineDeployment,
            ManagedOnlineEndpoint,
            Model,
        )
    from azure.identity import DefaultAzureCredential

    from emulator.endpoints import provisioning
    from emulator.services.deployment import Deployment

    phases: dict[str, float] = {}
    provisioning.build_image = _timed(phases, "image_build_s", provisioning.build_image)
    Deployment.wait = _timed(  # type: ignore[method-assign]
        phases, "replicas_to_init_done_s", Deployment.wait
    )

    def create(client: MLClient, endpoint: str) -> dict[str, float]:
        if args.fresh_code:
            (workdir / "src" / "score.py").write_text(f"{SCORE}\n# {endpoint}\n")
        phases.clear()
        started = time.perf_counter()
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name=endpoint)
        ).result()
        endpoint_done = time.perf_counter()
        deployment = client.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name="blue",
                endpoint_name=endpoint,
                model=Model(path=str(workdir / "factor.txt")),
                code_configuration=CodeConfiguration(
                    code=str(workdir / "src"), scoring_script="score.py"
                ),
                environment=Environment(
                    image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"
                ),
                instance_type="Standard_DS3_v2",
                instance_count=1,
            )
        ).result()
        done = time.perf_counter()
        assert deployment.provisioning_state == "Succeeded", deployment.provisioning_state
        return {
            "total_s": round(done - started, 3),
            "endpoint_s": round(endpoint_done - started, 3),
            "deployment_s": round(done - endpoint_done, 3),
            **{k: round(v, 3) for k, v in phases.items()},
        }

    # azure-ai-ml prints a dot per poll on stdout: kept off the JSON document.
    with _server(workdir / "root"), contextlib.redirect_stdout(sys.stderr):
        client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        warmup = create(client, "bench-warmup")
        runs = [create(client, f"bench-{i}") for i in range(args.runs)]
    totals = [r["total_s"] for r in runs]
    print(
        json.dumps(
            {
                "benchmark": "v2 endpoint + deployment to Succeeded (real azure-ai-ml)",
                "builder": os.environ.get("AZUREML_EMULATOR_BUILDER", "local"),
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),  # the machine may be shared
                "python": platform.python_version(),
                "runs": args.runs,
                "fresh_code": args.fresh_code,
                "median_s": round(statistics.median(totals), 3),
                "goal_s": 3.0,
                "warmup_cold_cache": warmup,
                "each": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

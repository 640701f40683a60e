"""An SDK v2 user's online flow, run by a given ``azure-ai-ml`` (any supported version) against
the emulator the environment points at (``amlemu env``'s variables); writes what it saw to
``WORKDIR/result.json`` (the client prints progress dots on stdout).

It imports nothing of the emulator: a test runs it with the interpreter of a virtualenv holding
the azure-ai-ml version under test, so what it proves is that that client version, unchanged,
works: workspace get, endpoint create, deployment create (local model, code and environment
uploaded), traffic, invoke, get_logs, get_keys, delete.

Usage: python v2_flow.py WORKDIR
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

SCORE = """
import json, os

def init():
    global factor
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "factor.txt")) as f:
        factor = int(f.read())
    print("model loaded, factor", factor)

def run(raw):
    return {"scaled": [x * factor for x in json.loads(raw)["data"]]}
"""


def main(work: Path) -> dict[str, object]:
    with warnings.catch_warnings():  # old clients warn about newer marshmallow releases
        warnings.simplefilter("ignore")
        from azure.ai.ml import MLClient, __version__
        from azure.ai.ml.entities import (
            CodeConfiguration,
            Environment,
            ManagedOnlineDeployment,
            ManagedOnlineEndpoint,
            Model,
        )
        from azure.identity import DefaultAzureCredential

    (work / "factor.txt").write_text("3")
    (work / "src").mkdir(exist_ok=True)
    (work / "src" / "score.py").write_text(SCORE)
    (work / "request.json").write_text(json.dumps({"data": [1, 2]}))

    client = MLClient(DefaultAzureCredential(), "00000000-0000-0000-0000-000000000001", "rg", "ws")
    workspace = client.workspaces.get("ws")
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="flow-ep")).result()
    deployment = client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name="flow-ep",
            model=Model(path=str(work / "factor.txt")),
            code_configuration=CodeConfiguration(code=str(work / "src"), scoring_script="score.py"),
            environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
            instance_type="Standard_DS3_v2",
            instance_count=1,
        )
    ).result()
    endpoint = client.online_endpoints.get("flow-ep")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    answer = client.online_endpoints.invoke(
        endpoint_name="flow-ep", request_file=str(work / "request.json")
    )
    logs = client.online_deployments.get_logs("blue", "flow-ep", lines=20)
    keys = client.online_endpoints.get_keys("flow-ep")
    client.online_endpoints.begin_delete(name="flow-ep").result()
    return {
        "azure_ai_ml": __version__,
        "workspace": workspace.name,
        "deployment_state": deployment.provisioning_state,
        "traffic": endpoint.traffic,
        "answer": json.loads(answer),
        "log_has_init": "model loaded, factor 3" in logs,
        "has_primary_key": bool(keys.primary_key),
        "endpoints_after_delete": [e.name for e in client.online_endpoints.list()],
    }


if __name__ == "__main__":
    work = Path(sys.argv[1])
    (work / "result.json").write_text(json.dumps(main(work)))

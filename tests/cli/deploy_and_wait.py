"""Deploys one service (``local`` or ``aci``, from argv) and waits; run by ``amlemu run`` in
the host-termination tests, which then end this process with a signal.

Prints one JSON line once the service is healthy: the session id, the service's name, its
gateway's and replica's ports."""

import json
import sys
import time

from azureml.core import Environment, Workspace
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice, LocalWebservice

from emulator.runtime.labels import session_id
from emulator.services.hosting import HOST

target = sys.argv[1]
ws = Workspace.create(name="ws", subscription_id="sub", resource_group="rg", exist_ok=True)
with open("score.py", "w") as script:
    script.write("def init():\n    pass\n\n\ndef run(raw):\n    return raw\n")
with open("model.txt", "w") as weights:
    weights.write("weights")
model = Model.register(ws, "model.txt", "m")
config = (
    LocalWebservice.deploy_configuration()
    if target == "local"
    else AciWebservice.deploy_configuration()
)
inference = InferenceConfig(entry_script="score.py", environment=Environment("e"))
service = Model.deploy(ws, f"svc-{target}", [model], inference, config)
service.wait_for_deployment()
replicas = [container.port for hosted in HOST.deployments() for container in hosted.containers()]
info = {"session": session_id(), "name": service.name, "uri": service.scoring_uri}
print(json.dumps({**info, "replica_ports": replicas}), flush=True)
while True:
    time.sleep(1)

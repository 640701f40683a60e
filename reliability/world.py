"""The world the runner tests: a fresh emulator root with a workspace, a registered model, an
image, an AKS cluster and a service with two replicas, set up the way a user would.

Everything the runner starts (children included) reads the same environment: the root, the
host builder (no virtualenv: the runner's interpreter already has what the script needs), no
provisioning delay, and small gateway limits so oversized and slow clients are cheap to test.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKSPACE = {"name": "reliability", "subscription_id": "rel-sub", "resource_group": "rel-rg"}
CLUSTER = "aks-rel"
SERVICE = "steady"
MODEL = "reliability-model"
IMAGE = "reliability"
MAX_BODY_BYTES = 64 * 1024
READ_TIMEOUT = 1.0
SCRIPT = Path(__file__).with_name("score_reliability.py")
PAYLOAD = b'{"data": [[1.0, 2.0, 3.0, 4.0]]}'


def configure(root: Path) -> dict[str, str]:
    """Point this process (and children, which inherit it) at ``root``; returns the variables."""
    variables = {
        "AZUREML_EMULATOR_ROOT": str(root),
        "AZUREML_EMULATOR_BUILDER": "host",
        "AZUREML_EMULATOR_PROVISIONING_SECONDS": "0",
        "AZUREML_EMULATOR_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "AZUREML_EMULATOR_READ_TIMEOUT": str(READ_TIMEOUT),
    }
    os.environ.update(variables)
    return variables


def workspace() -> Any:
    from emulator import Workspace

    return Workspace.get(**WORKSPACE)


def deploy_config(replicas: int, concurrency: int) -> Any:
    """Two replicas sized for the load: enough slots that no request waits for 503."""
    from emulator.sdk.webservice import AksWebservice

    return AksWebservice.deploy_configuration(
        num_replicas=replicas,
        autoscale_enabled=False,
        replica_max_concurrent_requests=concurrency,
        max_request_wait_time=10000,
        scoring_timeout_ms=30000,
    )


@dataclass
class World:
    workdir: Path
    ws: Any
    image: Any
    cluster: Any
    service: Any

    @property
    def key(self) -> str:
        return str(self.service.get_keys()[0])

    @property
    def gateway(self) -> Any:
        deployment = self.service._manager.deployment(self.service.name)
        assert deployment is not None, "the service is not hosted by this process"
        return deployment.gateway


def create_world(workdir: Path, replicas: int, concurrency: int) -> World:
    """Register, build, provision and deploy (about two seconds)."""
    from emulator import Model, Workspace
    from emulator.sdk.compute import AksCompute, ComputeTarget
    from emulator.sdk.image import ContainerImage, Image
    from emulator.sdk.webservice import Webservice

    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    shutil.copy(SCRIPT, workdir / SCRIPT.name)
    (workdir / "weights.bin").write_bytes(os.urandom(4096))
    ws = Workspace.create(
        name=WORKSPACE["name"],
        subscription_id=WORKSPACE["subscription_id"],
        resource_group=WORKSPACE["resource_group"],
        show_output=False,
    )
    model = Model.register(ws, "weights.bin", MODEL)
    config = ContainerImage.image_configuration(SCRIPT.name, "python")
    image = Image.create(ws, IMAGE, [model], config)
    image.wait_for_creation()
    provisioning = AksCompute.provisioning_configuration(cluster_purpose="DevTest", agent_count=3)
    cluster = ComputeTarget.create(ws, CLUSTER, provisioning)
    cluster.wait_for_completion()
    service = Webservice.deploy_from_image(
        ws, SERVICE, image, deploy_config(replicas, concurrency), cluster
    )
    service.wait_for_deployment()
    return World(workdir, ws, image, cluster, service)


def inventory(ws: Any) -> dict[str, Any]:
    """What the workspace holds, to compare before and after a crash."""
    from emulator import Model
    from emulator.sdk.image import Image
    from emulator.sdk.webservice import Webservice

    return {
        "models": sorted(
            f"{m.id}:{f.digest}" for m in Model.list(ws) for f in m.emulator_record.files
        ),
        "images": sorted(f"{i.id}:{i.creation_state}" for i in Image.list(ws)),
        "services": sorted(f"{s.name}:{s.image_id}:{s.compute_type}" for s in Webservice.list(ws)),
    }

"""What an AKS service reports about its rollout beyond its state: ``deployment_status`` (the
replica counts Azure's ``AKSReplicaStatus`` carries) and ``environment`` (the environment the
service's image was built from).

Both are read when the SDK object is (re)bound, from the live deployment in this process and the
image's build record, as Azure fills them from the service payload on every ``GET``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.environments.environment import Environment
from emulator.services.deployment import Deployment

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


def replica_status(deployment: Deployment | None) -> dict[str, Any] | None:
    """Azure's ``deploymentStatus`` (``desiredReplicas``, ``updatedReplicas``,
    ``availableReplicas``, ``error``; the field names of azureml-core's ``AKSReplicaStatus``)
    for a service hosted here; ``None`` for one that is not running in this process."""
    if deployment is None:
        return None
    replicas = deployment.replicas()
    _, error = deployment.state()
    return {
        "desiredReplicas": deployment.desired,
        "updatedReplicas": len(replicas),
        "availableReplicas": sum(1 for replica in replicas if replica.ready),
        "error": error,
    }


def image_environment(workspace: Workspace, image_id: str | None) -> Environment | None:
    """The environment ``image_id`` was built from (its build record's definition), as the SDK
    deserializes it from the service's ``environmentImageRequest``; ``None`` for an image built
    from a legacy image configuration before it recorded one, or no image."""
    if not image_id or ":" not in image_id:
        return None
    name, version = image_id.rsplit(":", 1)
    if not version.isdigit():
        return None
    record = workspace.emulator_state.images.get(name, int(version))
    if record is None:
        return None
    build = Path(record.directory) / "context" / "build.json"
    try:
        definition = json.loads(build.read_text(encoding="utf-8")).get("environment")
    except (OSError, ValueError):
        return None
    if not isinstance(definition, dict):
        return None
    return Environment._deserialize_and_add_to_object(definition)

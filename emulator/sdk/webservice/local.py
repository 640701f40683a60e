"""``LocalWebservice``: a service on this machine, on the port you ask for (or a free one).

The real SDK builds and runs a Docker container for it (and still needs a cloud workspace);
here it runs on the configured runtime, offline, like any other service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.translation import v1_errors
from emulator.sdk.webservice.base import Webservice, services
from emulator.sdk.webservice.handover import on_daemon
from emulator.sdk.webservice.listing import selected
from emulator.sdk.webservice_config import (
    LocalWebserviceDeploymentConfiguration,
    local_deploy_configuration,
)
from emulator.services.manager import DeploymentSpec
from emulator.services.records import ServiceState

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

_LOCAL_STATES = {
    ServiceState.TRANSITIONING.value: "deploying",
    ServiceState.HEALTHY.value: "running",
    ServiceState.UNHEALTHY.value: "failed",
    ServiceState.FAILED.value: "failed",
    ServiceState.DELETING.value: "deleted",
}


class LocalWebservice(Webservice):
    """A local service: no auth, states in lower case, ``reload()`` restarts it."""

    _webservice_type = "Local"
    deploy_configuration = staticmethod(local_deploy_configuration)

    #: The SDK's state names and Docker network (its containers join it; here only a name).
    NETWORK_NAME = "azureml-local"
    STATE_DELETED = "deleted"
    STATE_DEPLOYING = "deploying"
    STATE_FAILED = "failed"
    STATE_RUNNING = "running"
    STATE_UNKNOWN = "unknown"

    def __init__(self, workspace: Workspace, name: str, must_exist: bool = True) -> None:
        super().__init__(workspace, name)

    @classmethod
    def _spec(cls, workspace: Workspace, config: Any, target: Any) -> DeploymentSpec:
        if not isinstance(config, LocalWebserviceDeploymentConfiguration):
            raise WebserviceException(
                "Error, provided deployment configuration must be of type "
                "LocalWebserviceDeploymentConfiguration in order to deploy a local service."
            )
        return DeploymentSpec(compute_type="Local", port=config.port or 0)

    def _bind(self, workspace: Workspace, record: Any) -> None:
        super()._bind(workspace, record)
        self.state = _LOCAL_STATES.get(self.state, "unknown")
        self.port = record.port
        if record.port:
            self.scoring_uri = f"http://localhost:{record.port}/score"
            self.swagger_uri = f"http://localhost:{record.port}/swagger.json"

    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Wait for the health check; a crashed ``init()`` raises as the SDK does."""
        try:
            super().wait_for_deployment(False, timeout_sec)
        except WebserviceException as exc:
            if "timeout" in exc.message:
                raise WebserviceException(
                    "Error: Connection to container has timed out. Did your init method fail?"
                ) from exc
            print("\nContainer Logs:")
            print(self.get_logs())
            raise WebserviceException(
                "Error: Container has crashed. Did your init method fail?"
            ) from exc
        if show_output:
            print(f"Local webservice is running at http://localhost:{self.port}")

    def run(self, input_data: Any) -> Any:
        if self.state == "deploying":
            self.wait_for_deployment()
        try:
            return super().run(input_data)
        except WebserviceException as exc:
            raise WebserviceException("Error: Scoring was unsuccessful.") from exc

    @v1_errors()
    def reload(self, wait: bool = False) -> None:
        """Restart the service's container (re-reads the entry script from the image)."""
        if on_daemon(self.workspace, self._record, "reload") is None:  # else the daemon did
            deployment = self._manager.deployment(self.name)
            if deployment is None:
                raise WebserviceException(f"Cannot call reload() when service is {self.state}.")
            deployment.replace(deployment.template, deployment.settings, deployment.auth, 1, 600.0)
        if wait:
            self.wait_for_deployment()
        self.update_deployment_state()

    def update(
        self,
        models: Any = None,
        image_config: Any = None,
        deployment_config: Any = None,
        wait: bool = False,
        inference_config: Any = None,
    ) -> None:
        """Replace the models and/or entry script; the service keeps its port."""
        if models is None and inference_config is None and image_config is None:
            raise WebserviceException("No parameters provided to update.")
        config = deployment_config or local_deploy_configuration(self.port)
        self._apply_update(config, None, models or self.models, inference_config or image_config)
        if wait:
            self.wait_for_deployment()

    def delete(
        self, delete_cache: bool = True, delete_image: bool = False, delete_volume: bool = True
    ) -> None:
        super().delete()
        self.state = "deleted"

    def get_logs(self, num_lines: int = 5000, raw: bool = False) -> str:
        """The container's log (``raw`` is accepted and, as in the SDK, changes nothing)."""
        return super().get_logs(num_lines)

    def deploy_to_cloud(
        self, name: str | None = None, deployment_config: Any = None, deployment_target: Any = None
    ) -> Webservice:
        """Deploy what this local service runs (its image: the same models, script and
        environment) to ACI, or to AKS with an AKS ``deployment_target``."""
        if self.state not in (self.STATE_RUNNING, self.STATE_DEPLOYING, self.STATE_FAILED):
            raise WebserviceException(
                f"The LocalWebservice is not deployable (state = {self.state}). Recreate it, or "
                "use the Model.deploy() method directly."
            )
        target_name = name or self.name
        if target_name == self.name:
            raise WebserviceException(
                f"[emulator] Local and cloud services share one name space here, and {self.name} "
                "is this local service's name: pass name= for the cloud service (Azure keeps "
                "local services out of the workspace)."
            )
        return Webservice.deploy_from_image(
            self.workspace, target_name, self.image, deployment_config, deployment_target
        )

    def update_deployment_state(self, must_exist: bool = False) -> None:
        """Re-read the service; ``must_exist``: raise when it is gone (as for a container)."""
        if must_exist and self._manager.get(self.name) is None:
            raise WebserviceException(f"Local webservice {self.name} does not exist.")
        super().update_deployment_state()

    @staticmethod
    def list(  # type: ignore[override]
        workspace: Workspace,
        model_name: str | None = None,
        model_id: str | None = None,
        all: bool | None = None,
    ) -> list[Webservice]:
        """The workspace's local services: running ones, or every one with ``all``; filtered
        by model name or id."""
        manager = services(workspace)
        found = []
        for stored in manager.registry.records():
            record = manager.refresh(stored)
            if record.compute_type != "Local":
                continue
            if not selected(record, model_name=model_name, model_id=model_id):
                continue
            if all or record.state is ServiceState.HEALTHY:
                found.append(Webservice._from_record(workspace, record))
        return found

    @classmethod
    def deserialize(cls, workspace: Workspace, webservice_payload: Any) -> Any:
        raise NotImplementedError("Local web services cannot be deserialized.")

    def get_keys(self) -> tuple[str | None, str | None]:
        raise NotImplementedError("Local web services do not support auth keys.")

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        raise NotImplementedError("Local web services do not support auth keys.")

    def get_token(self) -> Any:
        raise NotImplementedError("Local web services do not support Token Authentication.")

    def serialize(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tags": self.tags,
            "properties": self.properties,
            "state": self.state,
            "createdTime": self._record.created_time,
            "updatedTime": self._record.updated_time,
            "error": self.error,
            "computeType": "Local",
            "workspaceName": self.workspace.name,
            "imageId": self.image_id,
            "scoringUri": self.scoring_uri,
            "swaggerUri": self.swagger_uri,
            "port": self.port,
        }

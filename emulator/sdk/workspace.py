"""``azureml.core.Workspace``: an offline workspace kept under the emulator root.

A workspace that does not exist yet is created on first use (and logged), so notebook code
that calls ``Workspace.get``/``from_config`` just works. Strict mode
(``AZUREML_EMULATOR_STRICT=1``) instead raises what Azure raises for a missing workspace.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from emulator.sdk.environment_registry import WorkspaceEnvironments
from emulator.sdk.exceptions import UserErrorException, WorkspaceException
from emulator.sdk.workspace_config import find_config, read_config, write_config
from emulator.sdk.workspace_members import WorkspaceMembers
from emulator.settings import strict_mode
from emulator.state import WorkspaceState, workspace_states

if TYPE_CHECKING:
    from pathlib import Path

    from emulator.environments.environment import Environment
    from emulator.sdk.compute import ComputeTarget
    from emulator.sdk.datastore import AzureBlobDatastore
    from emulator.sdk.image import Image
    from emulator.sdk.model import Model
    from emulator.sdk.webservice import Webservice

__all__ = ["Workspace", "workspace_of"]

logger = logging.getLogger("emulator.workspace")

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "emulator-rg"


class Workspace(WorkspaceMembers):
    """A workspace identified by subscription, resource group and name."""

    def __init__(
        self,
        subscription_id: str,
        resource_group: str,
        workspace_name: str,
        auth: object = None,
        _location: str | None = None,
        _disable_service_check: bool = False,
        _workspace_id: str | None = None,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        _cloud: str = "AzureCloud",
    ) -> None:
        states = workspace_states()
        state = states.get(subscription_id, resource_group, workspace_name)
        if state is None:
            if strict_mode():
                raise WorkspaceException(
                    "Workspace not found. [emulator] Strict mode is on "
                    f"(AZUREML_EMULATOR_STRICT): no workspace '{workspace_name}' in resource "
                    f"group '{resource_group}' of subscription '{subscription_id}' under "
                    f"{states.root.path}. Create it with Workspace.create(...) first.",
                    found=False,
                )
            state, _ = states.create(
                subscription_id, resource_group, workspace_name, _location, sku, tags
            )
            logger.warning(
                "Workspace '%s' did not exist in the emulator root %s; created it.",
                workspace_name,
                states.root.path,
            )
        self._state = state

    @property
    def emulator_state(self) -> WorkspaceState:
        """The workspace's registries (models, images, services, compute), root and record:
        how the emulator's faces and tools reach its state (an emulator addition, not part of
        the SDK)."""
        return self._state

    # -- factories -------------------------------------------------------------------------------

    @staticmethod
    def get(
        name: str,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        cloud: str = "AzureCloud",
        id: str | None = None,
    ) -> Workspace:
        """Look up a workspace; without subscription/resource group, find it by name alone."""
        if subscription_id is None or resource_group is None:
            matches = workspace_states().matching(name, subscription_id, resource_group)
            if len(matches) == 1:
                return workspace_of(matches[0])
            if len(matches) > 1:
                places = ", ".join(
                    f"{m.record.subscription_id}/{m.record.resource_group}" for m in matches
                )
                raise UserErrorException(
                    f"Workspace name '{name}' is ambiguous: it exists in {places}. Pass "
                    "subscription_id and resource_group to choose one."
                )
            subscription_id = subscription_id or DEFAULT_SUBSCRIPTION
            resource_group = resource_group or DEFAULT_RESOURCE_GROUP
        return Workspace(subscription_id, resource_group, name, auth=auth, _location=location)

    @staticmethod
    def create(
        name: str,
        auth: object = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        tags: dict[str, str] | None = None,
        friendly_name: str | None = None,
        storage_account: str | None = None,
        key_vault: str | None = None,
        app_insights: str | None = None,
        container_registry: str | None = None,
        adb_workspace: str | None = None,
        primary_user_assigned_identity: str | None = None,
        cmk_keyvault: str | None = None,
        resource_cmk_uri: str | None = None,
        hbi_workspace: bool = False,
        default_cpu_compute_target: object = None,
        default_gpu_compute_target: object = None,
        private_endpoint_config: object = None,
        private_endpoint_auto_approval: bool = True,
        exist_ok: bool = False,
        show_output: bool = True,
        user_assigned_identity_for_cmk_encryption: str | None = None,
        system_datastores_auth_mode: str = "accessKey",
        v1_legacy_mode: bool | None = None,
    ) -> Workspace:
        """Create a workspace; an existing one is an error unless ``exist_ok``. The SDK's
        arguments naming Azure resources (storage account, key vault, registry, encryption,
        private endpoints, default clusters) are accepted and have no effect: an emulated
        workspace keeps its data under the emulator root."""
        subscription_id = subscription_id or DEFAULT_SUBSCRIPTION
        resource_group = resource_group or DEFAULT_RESOURCE_GROUP
        state, created = workspace_states().create(
            subscription_id, resource_group, name, location, sku, tags
        )
        if not created and not exist_ok:
            raise UserErrorException(
                f"Workspace with name '{name}' already exists under resource group with name "
                f"'{resource_group}'. Use exist_ok=True (or Workspace.get) to reuse it."
            )
        if show_output and created:
            print(f"Deployed Workspace with name {name}.")
        return workspace_of(state)

    @staticmethod
    def from_config(
        path: str | os.PathLike[str] | None = None,
        auth: object = None,
        _logger: object = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """The workspace named in ``config.json`` (searched upwards from ``path``)."""
        config_path = find_config(path, _file_name)
        subscription_id, resource_group, name = read_config(config_path)
        print(f"Found the config file in: {config_path}")
        return Workspace.get(
            name, auth=auth, subscription_id=subscription_id, resource_group=resource_group
        )

    def write_config(
        self, path: str | os.PathLike[str] | None = None, file_name: str | None = None
    ) -> Path:
        """Write ``.azureml/config.json`` so ``Workspace.from_config()`` finds this workspace."""
        return write_config(self.subscription_id, self.resource_group, self.name, path, file_name)

    # -- properties ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._state.record.name

    @property
    def subscription_id(self) -> str:
        return self._state.record.subscription_id

    @property
    def resource_group(self) -> str:
        return self._state.record.resource_group

    @property
    def location(self) -> str:
        return self._state.record.location

    @property
    def sku(self) -> str:
        return self._state.record.sku

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._state.record.tags)

    @property
    def models(self) -> dict[str, Model]:
        """Name → latest version of every registered model."""
        from emulator.sdk.model import Model

        return {m.name: m for m in Model.list(self, latest=True)}

    @property
    def images(self) -> dict[str, Image]:
        """Name → highest version of every image."""
        from emulator.sdk.image import Image

        newest: dict[str, Image] = {}
        for image in Image.list(self):  # newest version first within each name
            newest.setdefault(image.name, image)
        return newest

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """Name → every compute target of the workspace (``AksCompute`` objects)."""
        from emulator.sdk.compute import ComputeTarget

        return {target.name: target for target in ComputeTarget.list(self)}

    @property
    def environments(self) -> dict[str, Environment]:
        """Name → latest version of every environment, Azure's curated ones included."""
        return self._environment_store().latest()

    def _environment_store(self) -> WorkspaceEnvironments:
        """The store ``Environment.register/get/list`` use (see environments/registered.py)."""
        return WorkspaceEnvironments(self._state)

    @property
    def datastores(self) -> dict[str, AzureBlobDatastore]:
        """Name → datastore: the default ``workspaceblobstore`` (the v2 face's too)."""
        from emulator.sdk.datastore import Datastore

        return Datastore._all(self)

    def get_default_datastore(self) -> AzureBlobDatastore:
        """The default datastore, ``workspaceblobstore``."""
        from emulator.sdk.datastore import Datastore

        return Datastore.get_default(self)

    def set_default_datastore(self, name: str) -> None:
        """Make ``name`` the default datastore: only ``workspaceblobstore`` exists here."""
        from emulator.sdk.datastore import Datastore

        Datastore.get(self, name).set_as_default()

    @property
    def datasets(self) -> dict[str, Any]:
        """Name → latest version of every registered dataset (the workspace's data assets)."""
        from emulator.sdk.dataset import Dataset

        return Dataset.get_all(self)

    @property
    def webservices(self) -> dict[str, Webservice]:
        """Name → every web service of the workspace."""
        from emulator.sdk.webservice import Webservice

        return {service.name: service for service in Webservice.list(self)}

    def get_details(self) -> dict[str, Any]:
        """The workspace's ARM-style description."""
        return {
            "id": (
                f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}"
            ),
            "name": self.name,
            "location": self.location,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "sku": self.sku,
            "tags": self.tags,
            "creationTime": self._state.record.created_time,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workspace):
            return NotImplemented
        return self._state == other._state

    def __hash__(self) -> int:
        return hash(self._state)

    def __repr__(self) -> str:
        return (
            f"Workspace.create(name='{self.name}', subscription_id='{self.subscription_id}', "
            f"resource_group='{self.resource_group}')"
        )


def workspace_of(state: WorkspaceState) -> Workspace:
    """The SDK ``Workspace`` over a workspace's state (the CLI and portal find states by name)."""
    workspace = Workspace.__new__(Workspace)
    workspace._state = state
    return workspace

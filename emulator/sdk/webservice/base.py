"""``Webservice``: the SDK's base class for deployed services (lookup, deploy, run, logs, keys).

A thin face over :class:`emulator.services.manager.ServiceManager`: it validates as the SDK
does, turns deployment configurations into the emulator's ``DeploymentSpec`` (each subclass
knows its own) and reads state back from the service record. Beside it: ``polling`` (waiting
for a deployment), ``scoring`` (``run``), ``listing`` (``list``'s filters) and ``handover`` (a
service the root's daemon hosts).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from emulator.faults.api import ServiceFaults
from emulator.images.records import CreationState
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.translation import v1_errors
from emulator.sdk.webservice import members, polling, scoring
from emulator.sdk.webservice.handover import (
    DAEMON_SETTING,
    configuration_arguments,
    hand_over,
    on_daemon,
)
from emulator.sdk.webservice.listing import check_compute_type, selected
from emulator.services.manager import DeploymentSpec, ServiceManager
from emulator.services.records import ServiceRecord, ServiceState
from emulator.services.uris import presented_scoring_uri, swagger_of

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace

_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
#: Settings the emulator keeps for itself, not part of the service payload.
_PRIVATE_SETTINGS = ("authMode", "tokenLifetimeSeconds", DAEMON_SETTING)


def validate_service_name(name: str) -> None:
    """The SDK's ``webservice_name_validation``."""
    if not isinstance(name, str) or not (3 <= len(name) <= 32) or not _NAME.fullmatch(name):
        raise WebserviceException(
            "Error, provided service name is invalid. It must only consist of lowercase "
            "letters, numbers, or dashes, start with a letter, end with a letter or number, and "
            "be between 3 and 32 characters long."
        )


def services(workspace: Workspace) -> ServiceManager:
    """The workspace's service manager."""
    return workspace.emulator_state.service_manager()


class Webservice(members.WebserviceMembers):
    """A deployed service; ``Webservice(ws, name)`` returns the ACI/AKS/Local subclass."""

    _webservice_type: ClassVar[str | None] = None
    _subclasses: ClassVar[dict[str, type[Webservice]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._webservice_type:
            Webservice._subclasses[cls._webservice_type] = cls

    def __new__(
        cls, workspace: Workspace | None = None, name: str | None = None, *a: Any, **k: Any
    ) -> Webservice:
        if workspace is None:
            return super().__new__(cls)
        record = _lookup(workspace, name)
        subclass = Webservice._subclasses.get(record.compute_type, cls)
        if cls is not Webservice and not issubclass(subclass, cls):
            raise WebserviceException(
                f"WebserviceNotFound: Webservice with name {name} of type "
                f"{cls._webservice_type} not found in provided workspace. [emulator] It is a "
                f"{record.compute_type} service."
            )
        return super().__new__(subclass)

    def __init__(self, workspace: Workspace, name: str, *args: Any, **kwargs: Any) -> None:
        self._bind(workspace, _lookup(workspace, name))

    @classmethod
    def _from_record(cls, workspace: Workspace, record: ServiceRecord) -> Webservice:
        service = object.__new__(Webservice._subclasses.get(record.compute_type, Webservice))
        service._bind(workspace, record)
        return service

    def _bind(self, workspace: Workspace, record: ServiceRecord) -> None:
        self.workspace = workspace
        self._record = record
        self.name = record.name
        self.compute_type = record.compute_type
        self.state = record.state.value
        self.error = record.error
        self.scoring_uri = presented_scoring_uri(self, record, workspace.location)
        self.swagger_uri = swagger_of(self.scoring_uri) if self.scoring_uri else None
        self.image_id = record.image_id
        self.image_digest = None
        self.description = record.description
        self.tags = dict(record.tags)
        self.properties = dict(record.properties)
        self.created_time = datetime.fromisoformat(record.created_time)
        self.updated_time = datetime.fromisoformat(record.updated_time)
        self.created_by = "emulator"
        mode = record.settings.get("authMode", "off")
        self.auth_enabled = mode == "key"
        self.token_auth_enabled = mode == "token"
        self._bind_settings(record.settings)

    def _bind_settings(self, settings: dict[str, Any]) -> None:
        """Subclasses copy their type's attributes from the settings payload."""

    @property
    def emulator_operation_id(self) -> str:
        """The deployment operation's id that failures print (an emulator addition: the portal
        shows it next to the service)."""
        return self._operation_id

    @property
    def emulator_record(self) -> ServiceRecord:
        """The service registry row this object was read from (an emulator addition, not part of the
        SDK): what the CLI, portal and pytest plugin show beyond the SDK's attributes."""
        return self._record

    @property
    def _manager(self) -> ServiceManager:
        return services(self.workspace)

    @property
    def faults(self) -> ServiceFaults:
        """Fault injection for this service (an emulator addition; see :mod:`emulator.faults`)."""
        state = self.workspace.emulator_state
        return ServiceFaults(state.root.path, state.id, self.name)

    @property
    def models(self) -> list[Any]:
        from emulator.sdk.model import Model

        return [Model(self.workspace, id=model_id) for model_id in self._record.model_ids]

    @property
    def image(self) -> Any:
        from emulator.sdk.image import Image

        return Image(self.workspace, id=self.image_id) if self.image_id else None

    # -- deploying -------------------------------------------------------------------------------

    @staticmethod
    def deploy_from_image(
        workspace: Workspace,
        name: str,
        image: Any,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """Deploy a built image (ACI by default; AKS when given an AKS target)."""
        validate_service_name(name)
        config = _default_config(deployment_config, deployment_target)
        if config.compute_type == "Local":
            raise WebserviceException(
                "This method does not support local deployment configuration. Please use "
                "deploy_local_from_model for local deployment."
            )
        record = image._record
        if record.state is not CreationState.SUCCEEDED:
            raise WebserviceException(
                f'Unable to create service with image {record.image_id} in non "Succeeded" '
                "creation state."
            )
        if record.flavor not in ("WebApiContainer", "AccelContainer", "ModelPackage"):
            raise WebserviceException(f"Deployment of {record.flavor} images is not supported")
        webservice_type = Webservice._subclasses[config.compute_type]
        return webservice_type._deploy(
            workspace, name, record, config, deployment_target, overwrite
        )

    @staticmethod
    def deploy_from_model(
        workspace: Workspace,
        name: str,
        models: Sequence[Any],
        image_config: Any,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """Build an image of ``models`` (waiting for it), then deploy it."""
        from emulator.sdk.image import Image

        image = Image.create(workspace, name, models, image_config)
        image.wait_for_creation(True)
        return Webservice.deploy_from_image(
            workspace, name, image, deployment_config, deployment_target, overwrite
        )

    @staticmethod
    def deploy(
        workspace: Workspace,
        name: str,
        model_paths: Sequence[str],
        image_config: Any,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
    ) -> Webservice:
        """Register each path as model ``basename[:30]``, then :meth:`deploy_from_model`."""
        import os

        from emulator.sdk.model import Model

        models = [
            Model.register(workspace, path, os.path.basename(path.rstrip("/"))[:30])
            for path in model_paths
        ]
        return Webservice.deploy_from_model(
            workspace, name, models, image_config, deployment_config, deployment_target, overwrite
        )

    @classmethod
    @v1_errors()
    def _deploy(
        cls,
        workspace: Workspace,
        name: str,
        image: Any,
        config: Any,
        target: Any,
        overwrite: bool,
    ) -> Webservice:
        config.validate_configuration()
        spec = cls._spec(workspace, config, target)  # the SDK's checks, here either way
        record = hand_over(workspace, name, image, config, spec, overwrite)
        if record is None:  # no daemon for the root: hosted by this process
            record = services(workspace).deploy(name, spec, image, overwrite=overwrite)
        return cls._from_record(workspace, record)

    @classmethod
    def _spec(cls, workspace: Workspace, config: Any, target: Any) -> DeploymentSpec:
        raise NotImplementedError  # each service type translates its own configuration

    # -- state -----------------------------------------------------------------------------------

    def update_deployment_state(self) -> None:
        """Re-read the service (state, error, URIs)."""
        record = self._manager.get(self.name)
        if record is not None:
            self._bind(self.workspace, record)

    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Poll until the deployment settles; raise with Azure's text if it did not succeed."""
        polling.wait_for_deployment(self, show_output, timeout_sec)

    @property
    def _operation_id(self) -> str:
        """A stable id for the deployment operation (Azure prints one in failures)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self._record.id}/{self._record.created_time}"))

    @property
    def _operation_label(self) -> str:
        return self.compute_type

    def run(self, input: Any) -> Any:  # the SDK's abstract name; each service type's is input_data
        """POST ``input`` to the scoring URI (dicts and lists are JSON-encoded)."""
        return scoring.run(self, input)

    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        """The container's log (stdout and stderr of the scoring server and your script)."""
        hosted = on_daemon(self.workspace, self._record, "logs", lines=num_lines)
        if hosted is not None:
            return str(hosted["logs"])
        return self._manager.logs(self._record, num_lines)

    # -- keys and tokens -------------------------------------------------------------------------

    def get_keys(self) -> tuple[str | None, str | None]:
        record = self._manager.get(self.name) or self._record
        return record.primary_key, record.secondary_key

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        if not key:
            raise WebserviceException(
                "Error, must specify which key with be regenerated: Primary, Secondary"
            )
        which = key.capitalize()
        if which not in ("Primary", "Secondary"):
            raise WebserviceException(
                f"Error, invalid value provided for key: {key}.\nValid options are: Primary, "
                "Secondary"
            )
        record = self._manager.get(self.name) or self._record
        self._bind(self.workspace, self._manager.regen_key(record, which, set_key))
        on_daemon(self.workspace, record, "sync")  # its gateway takes the new key at once

    def get_token(self) -> tuple[str, datetime]:
        raise NotImplementedError(
            f"{self.compute_type} webservices do not support Token Authentication."
        )

    # -- changes ---------------------------------------------------------------------------------

    def delete(self) -> None:
        """Stop every replica and remove the service."""
        record = self._manager.registry.get(self.name)
        if record is None:
            print(f"No service with name {self.name} found to delete.")
            return
        self._manager.delete(record)
        on_daemon(self.workspace, record, "sync")  # its replicas stop before this returns
        self.state = ServiceState.DELETING.value

    def add_tags(self, tags: dict[str, str]) -> None:
        self._patch(tags={**self.tags, **tags})
        print("Webservice tag add operation complete.")

    def remove_tags(self, tags: Sequence[str]) -> None:
        self._patch(tags={k: v for k, v in self.tags.items() if k not in tags})
        print("Webservice tag remove operation complete.")

    def add_properties(self, properties: dict[str, str]) -> None:
        self._patch(properties={**self.properties, **properties})
        print("Webservice add properties operation complete.")

    @v1_errors()
    def _apply_update(self, config: Any, image: Any, models: Any, inference_config: Any) -> None:
        """Roll the service over to ``config`` and a new image (given, or built from
        ``models`` + ``inference_config``); the old replicas serve until the new are ready."""
        record = None
        if image is not None:
            record = image._record
        elif models is not None and inference_config is not None:
            from emulator.sdk.package import package_models

            package = package_models(self.workspace, models, inference_config, image_name=self.name)
            record = package._record
        config.validate_configuration()
        spec = type(self)._spec(self.workspace, config, None)
        current = self._manager.get(self.name) or self._record
        hosted = on_daemon(
            self.workspace,
            current,
            "update",
            image=record.image_id if record is not None else None,
            configuration=configuration_arguments(config),
        )
        if hosted is None:
            self._bind(self.workspace, self._manager.update(current, spec, record))
        else:
            self.update_deployment_state()

    def _patch(self, **fields: Any) -> None:
        self._bind(self.workspace, self._manager.registry.update(self._record, **fields))

    # -- listing and serialization --------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        compute_type: str | None = None,
        image_name: str | None = None,
        image_id: str | None = None,
        model_name: str | None = None,
        model_id: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        image_digest: str | None = None,
    ) -> list[Webservice]:
        """Services of the workspace, filtered as the SDK filters them."""
        check_compute_type(compute_type)
        manager = services(workspace)
        records = [manager.refresh(stored) for stored in manager.registry.records()]
        return [
            Webservice._from_record(workspace, record)
            for record in records
            if selected(
                record, compute_type, image_name, image_id, model_name, model_id, tags, properties
            )
        ]

    def serialize(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "tags": self.tags,
            "properties": self.properties,
            "state": self.state,
            "createdTime": self._record.created_time,
            "updatedTime": self._record.updated_time,
            "error": self.error,
            "computeType": self.compute_type,
            "workspaceName": self.workspace.name,
            "imageId": self.image_id,
            "imageDigest": self.image_digest,
            "imageDetails": None,
            "scoringUri": self.scoring_uri,
            "createdBy": self.created_by,
            **{k: v for k, v in self._record.settings.items() if k not in _PRIVATE_SETTINGS},
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={self.workspace!r}, name={self.name}, "
            f"image_id={self.image_id}, image_digest={self.image_digest}, compute_type="
            f"{self.compute_type}, state={self.state}, scoring_uri={self.scoring_uri}, "
            f"tags={self.tags}, properties={self.properties}, created_by={self.created_by})"
        )


def webservice_of(workspace: Workspace, record: ServiceRecord) -> Webservice:
    """The SDK object (``AciWebservice``, ``AksWebservice``, ...) over a stored service row, as
    it was stored (``Webservice.list`` refreshes each one first)."""
    return Webservice._from_record(workspace, record)


def _lookup(workspace: Workspace, name: str | None) -> ServiceRecord:
    if not name:
        raise WebserviceException("Name must be provided")
    record = services(workspace).get(name)
    if record is None:
        known = ", ".join(r.name for r in services(workspace).registry.records()) or "none"
        raise WebserviceException(
            f"WebserviceNotFound: Webservice with name {name} not found in provided workspace. "
            f"[emulator] Services in this workspace: {known}",
            status_code=404,
        )
    return record


def _default_config(config: Any, target: Any) -> Any:
    """No configuration: ACI defaults, or AKS defaults with an AKS target (as the SDK does)."""
    if config is not None:
        return config
    if target is None:
        from emulator.sdk.webservice_config import aci_deploy_configuration

        return aci_deploy_configuration()
    if getattr(target, "type", None) == "AKS":
        from emulator.sdk.webservice_config import aks_deploy_configuration

        return aks_deploy_configuration()
    raise WebserviceException(
        "Must provide deployment configuration when not deploying to AKS or ACI"
    )

"""``Webservice`` members beyond deploying and scoring: ``deserialize`` (a service payload back
into its object), ``check_for_existing_webservice`` (the name check the SDK runs before a
deploy) and ``deploy_local_from_model`` (a ``LocalWebservice`` from models and an image
configuration). A mixin of :class:`emulator.sdk.webservice.base.Webservice`, kept apart to hold
the base class to its size.

Signatures, checks and messages are azureml-core 1.61's (``azureml/core/webservice/webservice.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from emulator.sdk.exceptions import WebserviceException

if TYPE_CHECKING:
    from emulator.sdk.webservice.base import Webservice
    from emulator.sdk.workspace import Workspace

#: Keys every service payload has (the SDK's ``Webservice._expected_payload_keys``).
EXPECTED_PAYLOAD_KEYS = (
    "computeType",
    "createdTime",
    "description",
    "kvTags",
    "name",
    "properties",
)


def _abstract_update(self: Any, *args: Any) -> None:
    """The SDK's abstract ``Webservice.update``: each service type updates its own settings."""
    raise NotImplementedError(
        f"{type(self).__name__} has no update: use the update of AciWebservice, AksWebservice, "
        "AksEndpoint or LocalWebservice."
    )


class WebserviceMembers:
    """What ``Webservice`` adds to lookup, deploy and scoring."""

    _webservice_type: ClassVar[str | None] = None

    #: Abstract in the SDK (``update(self, *args)``): each service type has its own.
    update: Callable[..., Any] = _abstract_update

    @classmethod
    def deserialize(cls, workspace: Workspace, webservice_payload: Mapping[str, Any]) -> Any:
        """The service a payload (``serialize()``, or Azure's JSON) describes, read from
        ``workspace``; the payload is checked as the SDK checks it first."""
        from emulator.sdk.webservice.base import Webservice, services

        if "computeType" not in webservice_payload:
            raise WebserviceException(
                f"Invalid payload for {cls._webservice_type} webservice, missing computeType:\n"
                f"{dict(webservice_payload)}"
            )
        if webservice_payload["computeType"] != cls._webservice_type:
            raise WebserviceException(
                f"Invalid payload for {cls._webservice_type} webservice, computeType is not "
                f'{cls._webservice_type}":\n{dict(webservice_payload)}'
            )
        payload = {"kvTags": webservice_payload.get("tags"), **webservice_payload}
        for key in EXPECTED_PAYLOAD_KEYS:
            if key not in payload:
                raise WebserviceException(
                    f'Invalid {cls._webservice_type} Webservice payload, missing "{key}":\n'
                    f"{dict(webservice_payload)}"
                )
        name = str(payload["name"])
        record = services(workspace).get(name)
        if record is None or record.compute_type != cls._webservice_type:
            raise WebserviceException(
                f"WebserviceNotFound: Webservice with name {name} not found in provided "
                "workspace. [emulator] deserialize reads the service's state from the "
                "workspace it is registered under; deploy it there first.",
                status_code=404,
            )
        return Webservice._from_record(workspace, record)

    @staticmethod
    def check_for_existing_webservice(
        workspace: Workspace,
        name: str,
        overwrite: bool = False,
        request_func: Callable[[], str | None] | None = None,
        check_func: Callable[[str], str | None] | None = None,
    ) -> None:
        """Raise ``WebserviceException`` when ``name`` is taken (and not ``overwrite``):
        ``request_func`` asks the service (default: this workspace), ``check_func`` turns its
        answer into an error message or ``None``."""
        if overwrite:
            return
        request = request_func or (lambda: _validate_name(workspace, name))
        check = check_func or _check_validate_error
        content = request()
        if not content:
            return
        error = check(content)
        if error:
            raise WebserviceException(error)

    @staticmethod
    def deploy_local_from_model(
        workspace: Workspace,
        name: str,
        models: Sequence[Any],
        image_config: Any,
        deployment_config: Any = None,
        wait: bool = False,
    ) -> Webservice:
        """Deploy ``models`` with ``image_config`` as a ``LocalWebservice`` (replacing a local
        service of that name, as the SDK's local deploy does)."""
        from emulator.sdk.image import Image
        from emulator.sdk.inference_config import InferenceConfig
        from emulator.sdk.webservice.base import Webservice, validate_service_name
        from emulator.sdk.webservice.deploy import deploy_models
        from emulator.sdk.webservice_config import (
            LocalWebserviceDeploymentConfiguration,
            local_deploy_configuration,
        )

        validate_service_name(name)
        if deployment_config is None:
            deployment_config = local_deploy_configuration()
        elif not isinstance(deployment_config, LocalWebserviceDeploymentConfiguration):
            raise WebserviceException(
                "Error, provided deployment configuration must be of type "
                "LocalWebserviceDeploymentConfiguration in order to deploy a local service."
            )
        if isinstance(image_config, InferenceConfig):
            service = deploy_models(
                workspace, name, models, image_config, deployment_config, None, True, False
            )
        else:  # a ContainerImageConfig, as the SDK expects: build that image, run it locally
            image = Image.create(workspace, name, models, image_config)
            local = Webservice._subclasses["Local"]
            service = local._deploy(workspace, name, image._record, deployment_config, None, True)
        if wait:
            service.wait_for_deployment()
        return service


def _validate_name(workspace: Workspace, name: str) -> str | None:
    """What Azure's name validation answers: an error body when the name is taken."""
    from emulator.sdk.webservice.base import services

    if services(workspace).registry.get(name) is None:
        return None
    return json.dumps(
        {
            "error": {
                "code": "Conflict",
                "message": f"Service {name} with the same name already exists, please use a "
                "different service name or delete the existing service.",
            }
        }
    )


def _check_validate_error(content: str) -> str | None:
    """The SDK's reading of the answer: ``error.message``, if there is one."""
    payload = json.loads(content)
    if payload and "error" in payload and "message" in payload["error"]:
        return str(payload["error"]["message"])
    return None

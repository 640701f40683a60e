"""``AciWebservice``: a service in Azure Container Instances — one container, its own endpoint."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from emulator.environments.environment import Environment
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice.aci_network import EncryptionProperties, VnetConfiguration
from emulator.sdk.webservice.aks_status import image_environment
from emulator.sdk.webservice.base import Webservice
from emulator.sdk.webservice_config import (
    AciServiceDeploymentConfiguration,
    aci_deploy_configuration,
)
from emulator.server.telemetry import service_environment as app_insights_environment
from emulator.services.manager import DeploymentSpec
from emulator.services.settings import ServiceSettings
from emulator.services.tls import TlsEndpoint

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


class AciWebservice(Webservice):
    """An ACI service: auth off by default, no router limits in front of the container."""

    _webservice_type = "ACI"
    deploy_configuration = staticmethod(aci_deploy_configuration)

    @classmethod
    def _spec(cls, workspace: Workspace, config: Any, target: Any) -> DeploymentSpec:
        if not isinstance(config, AciServiceDeploymentConfiguration):
            raise WebserviceException(
                "Error, provided deployment configuration must be of type "
                "AciServiceDeploymentConfiguration in order to deploy an ACI service."
            )
        settings = config.to_runtime()
        location = settings.location or workspace.location
        problem = settings.capacity_error(location)
        if problem:
            raise WebserviceException(problem)
        tls = settings.tls()
        if tls is not None:
            tls.context()  # a bad certificate or key fails here, naming the files
        return DeploymentSpec(
            compute_type="ACI",
            replicas=1,
            route=ServiceSettings.aci(),
            auth_mode="key" if settings.auth_enabled else "off",
            environment=app_insights_environment(workspace) if settings.enable_app_insights else {},
            # CPU is limited only when asked for: Azure's 0.1 default would make init() crawl.
            cpu_cores=config.cpu_cores,
            memory_gb=settings.memory_gb,
            settings={**settings.payload(), "location": location, **_tls_files(tls)},
            description=settings.description,
            tags=settings.tags,
            properties=settings.properties,
            primary_key=settings.primary_key,
            secondary_key=settings.secondary_key,
            tls=tls,
        )

    def _bind_settings(self, settings: dict[str, Any]) -> None:
        resources = settings.get("containerResourceRequirements") or {}
        self.container_resource_requirements = resources
        self.location = settings.get("location")
        self.ssl_enabled = settings.get("sslEnabled", False)
        self.enable_app_insights = settings.get("appInsightsEnabled", False)
        self.cname = settings.get("cname")
        self.encryption_properties = EncryptionProperties.deserialize(
            settings.get("encryptionProperties")
        )
        self.vnet_configuration = VnetConfiguration.deserialize(settings.get("vnetConfiguration"))
        # Azure's container group address; here the host the scoring URI names (loopback).
        host = urlsplit(self.scoring_uri).hostname if self.scoring_uri else None
        self.public_ip = host if host and _is_ip(host) else None
        self.public_fqdn = host

    @property
    def ssl_certificate(self) -> str | None:
        """The PEM certificate the service serves HTTPS with (``None`` without SSL): the SDK's
        ``sslCertificate``, which its deployment sent as the file's text. The record keeps the
        file's path only, so the private key below is never copied into the emulator's state."""
        return _pem(self._record.settings.get(_CERT_FILE), "ssl_cert_pem_file")

    @property
    def ssl_key(self) -> str | None:
        """The PEM private key of :attr:`ssl_certificate` (the SDK's ``sslKey``), read from the
        ``ssl_key_pem_file`` the service serves with."""
        return _pem(self._record.settings.get(_KEY_FILE), "ssl_key_pem_file")

    def run(self, input_data: Any) -> Any:
        """POST ``input_data`` to the scoring URI (the SDK's name for it on every service type)."""
        return super().run(input_data)

    def serialize(self) -> dict[str, Any]:
        """The SDK's payload; the file paths the emulator keeps stay out of it."""
        payload = super().serialize()
        for private in (_CERT_FILE, _KEY_FILE):
            payload.pop(private, None)
        return payload

    @property
    def environment(self) -> Environment | None:
        """The environment the service's image was built from (``None`` for a legacy image
        configuration's image)."""
        return image_environment(self.workspace, self.image_id)

    def update(
        self,
        image: Any = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        auth_enabled: bool | None = None,
        ssl_enabled: bool | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        enable_app_insights: bool | None = None,
        models: Any = None,
        inference_config: Any = None,
    ) -> None:
        """Change tags, properties, description, auth or the image; replicas roll over."""
        given = (
            image,
            tags,
            properties,
            description,
            auth_enabled,
            ssl_enabled,
            ssl_cert_pem_file,
            ssl_key_pem_file,
            ssl_cname,
            enable_app_insights,
            models,
            inference_config,
        )
        if all(value is None for value in given):
            raise WebserviceException("No parameters provided to update.")
        if (models is None) != (inference_config is None):
            raise WebserviceException(
                'Error, both "models" and "inference_config" inputs must be provided in order '
                "to update the models.\n"
            )
        self._check_ssl_update(ssl_enabled, ssl_cert_pem_file, ssl_key_pem_file, ssl_cname)
        config = aci_deploy_configuration(
            cpu_cores=self.container_resource_requirements.get("cpu"),
            memory_gb=self.container_resource_requirements.get("memoryInGB"),
            tags=self.tags if tags is None else tags,
            properties={**self.properties, **(properties or {})},
            description=self.description if description is None else description,
            auth_enabled=self.auth_enabled if auth_enabled is None else auth_enabled,
            enable_app_insights=(
                self.enable_app_insights if enable_app_insights is None else enable_app_insights
            ),
            location=self.location,
        )
        self._apply_update(config, image, models, inference_config)

    def _check_ssl_update(
        self,
        ssl_enabled: bool | None,
        cert_file: str | None,
        key_file: str | None,
        cname: str | None,
    ) -> None:
        """The SDK's checks of SSL changes; changing a live endpoint's TLS is not emulated, so
        any SSL change is refused rather than silently ignored."""
        error = ""
        if (cert_file or key_file) and not ssl_enabled and not self.ssl_enabled:
            error += "Error, SSL must be enabled in order to update SSL cert/key.\n"
        if cert_file and not os.path.exists(cert_file):
            error += f"Error, unable to find ssl_cert_pem_file at provided path: {cert_file}\n"
        if key_file and not os.path.exists(key_file):
            error += f"Error, unable to find ssl_key_pem_file at provided path: {key_file}\n"
        if error:
            raise WebserviceException(error)
        toggled = ssl_enabled is not None and bool(ssl_enabled) != bool(self.ssl_enabled)
        if toggled or cert_file or key_file or (cname and cname != self.cname):
            raise WebserviceException(
                f"[emulator] Changing the SSL settings of ACI service {self.name} in place is "
                "not emulated: deploy it again with overwrite=True and the new ssl_* settings "
                "in AciWebservice.deploy_configuration."
            )


#: Private settings (kept out of ``serialize``): where the service's TLS material lives.
_CERT_FILE, _KEY_FILE = "sslCertPemFile", "sslKeyPemFile"


def _tls_files(tls: TlsEndpoint | None) -> dict[str, str]:
    return {} if tls is None else {_CERT_FILE: tls.cert_file, _KEY_FILE: tls.key_file}


def _pem(path: str | None, parameter: str) -> str | None:
    """The text of a PEM file the service was deployed with; a clear error when it is gone."""
    if path is None:
        return None
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise WebserviceException(
            f"[emulator] Cannot read the service's {parameter} {path!r}: {exc.strerror}. The "
            "emulator reads the certificate and key from the files the service was deployed "
            "with; put the file back or deploy again with the new files."
        ) from exc


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

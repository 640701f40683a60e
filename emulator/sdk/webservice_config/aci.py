"""``AciWebservice.deploy_configuration`` → ``AciServiceDeploymentConfiguration``.

Validation follows the SDK (a single ``WebserviceException`` for the first problem, raised at
construction and again by ``validate_configuration()``). Azure's defaults for a container
group: 0.1 vCPU, 0.5 GB, no auth, no SSL, no Application Insights. ACI's capacity (4 vCPUs and
16 GB per container group) is checked by the service at deployment: :meth:`AciSettings.
capacity_error` gives Azure's message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice_config.base import WebserviceDeploymentConfiguration, check_number
from emulator.services.tls import TlsEndpoint

#: Azure's per-container-group capacity for Linux containers in most regions.
ACI_MAX_CPU_CORES = 4.0
ACI_MAX_MEMORY_GB = 16.0

# The SDK's message carries the indentation of a line continuation inside its literal.
_CMK_MESSAGE = (
    "customer managed key vault_base_url, key_name and key_version must all have values or "
    + " " * 38
    + "all are empty/null"
)


@dataclass(frozen=True)
class AciSettings:
    """What an ACI service runs with: the configuration with Azure's defaults filled in."""

    cpu_cores: float = 0.1
    memory_gb: float = 0.5
    auth_enabled: bool = False
    ssl_enabled: bool = False
    enable_app_insights: bool = False
    collect_model_data: bool = False
    #: ``None``: the workspace's location.
    location: str | None = None
    #: ``None``: a generated DNS label.
    dns_name_label: str | None = None
    ssl_cert_pem_file: str | None = None
    ssl_key_pem_file: str | None = None
    ssl_cname: str | None = None
    primary_key: str | None = None
    secondary_key: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    cmk_vault_base_url: str | None = None
    cmk_key_name: str | None = None
    cmk_key_version: str | None = None
    vnet_name: str | None = None
    subnet_name: str | None = None

    def capacity_error(self, location: str) -> str | None:
        """Azure's answer when the container group asks more than ACI offers, else ``None``."""
        if self.cpu_cores <= ACI_MAX_CPU_CORES and self.memory_gb <= ACI_MAX_MEMORY_GB:
            return None
        return (
            f"The requested resource with 'CPU: {self.cpu_cores}, memoryInGB: "
            f"{self.memory_gb}' is not available in the location '{location}' at this moment. "
            "Please retry with a different resource request or in another location. "
            f"[emulator] ACI offers at most {ACI_MAX_CPU_CORES:g} vCPUs and "
            f"{ACI_MAX_MEMORY_GB:g} GB per container group."
        )

    def tls(self) -> TlsEndpoint | None:
        """The HTTPS endpoint Azure serves with ``ssl_enabled`` (the configuration checked that
        the certificate, key and cname are all given)."""
        if not self.ssl_enabled:
            return None
        return TlsEndpoint(
            self.ssl_cname or "", self.ssl_cert_pem_file or "", self.ssl_key_pem_file or ""
        )

    def payload(self) -> dict[str, Any]:
        """The service's view of these settings, under the REST payload's keys."""
        return {
            "containerResourceRequirements": {"cpu": self.cpu_cores, "memoryInGB": self.memory_gb},
            "location": self.location,
            "authEnabled": self.auth_enabled,
            "sslEnabled": self.ssl_enabled,
            "appInsightsEnabled": self.enable_app_insights,
            "dataCollection": {"eventHubEnabled": False, "storageEnabled": self.collect_model_data},
            "cname": self.ssl_cname,
            "dnsNameLabel": self.dns_name_label,
            "encryptionProperties": (
                {
                    "vaultBaseUrl": self.cmk_vault_base_url,
                    "keyName": self.cmk_key_name,
                    "keyVersion": self.cmk_key_version,
                }
                if self.cmk_vault_base_url
                else None
            ),
            "vnetConfiguration": (
                {"vnetName": self.vnet_name, "subnetName": self.subnet_name}
                if self.vnet_name
                else None
            ),
        }


class AciServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of an Azure Container Instances web service."""

    compute_type = "ACI"

    def __init__(
        self,
        cpu_cores: float | None = None,
        memory_gb: float | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
        location: str | None = None,
        auth_enabled: bool | None = None,
        ssl_enabled: bool | None = None,
        enable_app_insights: bool | None = None,
        ssl_cert_pem_file: str | None = None,
        ssl_key_pem_file: str | None = None,
        ssl_cname: str | None = None,
        dns_name_label: str | None = None,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        collect_model_data: bool | None = None,
        cmk_vault_base_url: str | None = None,
        cmk_key_name: str | None = None,
        cmk_key_version: str | None = None,
        vnet_name: str | None = None,
        subnet_name: str | None = None,
    ) -> None:
        super().__init__(None, description, tags, properties, primary_key, secondary_key, location)
        self.cpu_cores = cpu_cores
        self.memory_gb = memory_gb
        self.auth_enabled = auth_enabled
        self.ssl_enabled = ssl_enabled
        self.enable_app_insights = enable_app_insights
        self.ssl_cert_pem_file = ssl_cert_pem_file
        self.ssl_key_pem_file = ssl_key_pem_file
        self.ssl_cname = ssl_cname
        self.dns_name_label = dns_name_label
        self.collect_model_data = collect_model_data
        self.cmk_vault_base_url = cmk_vault_base_url
        self.cmk_key_name = cmk_key_name
        self.cmk_key_version = cmk_key_version
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """The SDK's checks in its order; the first failure raises ``WebserviceException``."""
        check_number(self.cpu_cores, "cpu_cores")
        check_number(self.memory_gb, "memory_gb")
        if self.cpu_cores is not None and self.cpu_cores <= 0:
            raise WebserviceException("Invalid configuration, cpu_cores must be positive.")
        if self.memory_gb is not None and self.memory_gb <= 0:
            raise WebserviceException("Invalid configuration, memory_gb must be positive.")
        if self.ssl_enabled:
            if not self.ssl_cert_pem_file or not self.ssl_key_pem_file or not self.ssl_cname:
                raise WebserviceException(
                    "SSL is enabled, you must provide a SSL certificate, key, and cname."
                )
            if not os.path.exists(self.ssl_cert_pem_file):
                raise WebserviceException(
                    "Error, unable to find SSL cert pem file provided paths:\n"
                    f"{self.ssl_cert_pem_file}"
                )
            if not os.path.exists(self.ssl_key_pem_file):
                raise WebserviceException(
                    "Error, unable to find SSL key pem file provided paths:\n"
                    f"{self.ssl_key_pem_file}"
                )
        cmk = (self.cmk_vault_base_url, self.cmk_key_name, self.cmk_key_version)
        if any(cmk) and not all(cmk):
            raise WebserviceException(_CMK_MESSAGE)
        if bool(self.vnet_name) != bool(self.subnet_name):
            raise WebserviceException(
                "vnet_name and subnet_name must all have values or both are empty/null"
            )

    def print_deploy_configuration(self) -> None:
        parts = []
        if self.cpu_cores:
            parts.append(f"CPU requirement: {self.cpu_cores}")
        if self.memory_gb:
            parts.append(f"Memory requirement: {self.memory_gb}GB")
        if parts:
            print(", ".join(parts))

    def to_runtime(self) -> AciSettings:
        """The settings the service runs with (Azure's defaults for what was left ``None``)."""
        defaults = AciSettings()
        return AciSettings(
            cpu_cores=_or(self.cpu_cores, defaults.cpu_cores),
            memory_gb=_or(self.memory_gb, defaults.memory_gb),
            auth_enabled=bool(self.auth_enabled),
            ssl_enabled=bool(self.ssl_enabled),
            enable_app_insights=bool(self.enable_app_insights),
            collect_model_data=bool(self.collect_model_data),
            location=self.location,
            dns_name_label=self.dns_name_label,
            ssl_cert_pem_file=self.ssl_cert_pem_file,
            ssl_key_pem_file=self.ssl_key_pem_file,
            ssl_cname=self.ssl_cname,
            primary_key=self.primary_key,
            secondary_key=self.secondary_key,
            description=self.description,
            tags=dict(self.tags or {}),
            properties=dict(self.properties or {}),
            cmk_vault_base_url=self.cmk_vault_base_url,
            cmk_key_name=self.cmk_key_name,
            cmk_key_version=self.cmk_key_version,
            vnet_name=self.vnet_name,
            subnet_name=self.subnet_name,
        )


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


#: ``AciWebservice.deploy_configuration``: the SDK's factory takes exactly the
#: constructor's parameters; the configuration validates itself at once, defaults are left to
#: the service.
aci_deploy_configuration = AciServiceDeploymentConfiguration

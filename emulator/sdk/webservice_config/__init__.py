"""Web service deployment configurations: ACI, AKS and local (``deploy_configuration``).

The web service classes attach the factories as static methods
(``AciWebservice.deploy_configuration = staticmethod(aci_deploy_configuration)``); each
configuration's ``to_runtime()`` gives the resolved settings the services layer runs with.
"""

from emulator.sdk.webservice_config.aci import (
    ACI_MAX_CPU_CORES,
    ACI_MAX_MEMORY_GB,
    AciServiceDeploymentConfiguration,
    AciSettings,
    aci_deploy_configuration,
)
from emulator.sdk.webservice_config.aks import (
    NAMESPACE_REGEX,
    AksServiceDeploymentConfiguration,
    AksSettings,
    aks_deploy_configuration,
)
from emulator.sdk.webservice_config.base import WebserviceDeploymentConfiguration
from emulator.sdk.webservice_config.local import (
    LocalWebserviceDeploymentConfiguration,
    local_deploy_configuration,
)

__all__ = [
    "ACI_MAX_CPU_CORES",
    "ACI_MAX_MEMORY_GB",
    "NAMESPACE_REGEX",
    "AciServiceDeploymentConfiguration",
    "AciSettings",
    "AksServiceDeploymentConfiguration",
    "AksSettings",
    "LocalWebserviceDeploymentConfiguration",
    "WebserviceDeploymentConfiguration",
    "aci_deploy_configuration",
    "aks_deploy_configuration",
    "local_deploy_configuration",
]

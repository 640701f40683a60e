"""The web service faces: ``azureml.core.webservice`` (Webservice, AciWebservice, AksWebservice,
AksEndpoint, LocalWebservice) over the emulator's services layer."""

from emulator.sdk.webservice.aci import AciWebservice
from emulator.sdk.webservice.aci_network import EncryptionProperties, VnetConfiguration
from emulator.sdk.webservice.aks import AksWebservice
from emulator.sdk.webservice.aks_endpoint import AksEndpoint
from emulator.sdk.webservice.base import Webservice
from emulator.sdk.webservice.endpoint_config import AksEndpointDeploymentConfiguration
from emulator.sdk.webservice.local import LocalWebservice
from emulator.sdk.webservice_config import (
    AciServiceDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    LocalWebserviceDeploymentConfiguration,
)
from emulator.sdk.webservice_config.data_collection import DataCollection

AciServiceDeploymentConfiguration._webservice_type = AciWebservice
AksServiceDeploymentConfiguration._webservice_type = AksWebservice
AksEndpointDeploymentConfiguration._webservice_type = AksEndpoint
LocalWebserviceDeploymentConfiguration._webservice_type = LocalWebservice

__all__ = [
    "AciServiceDeploymentConfiguration",
    "AciWebservice",
    "AksEndpoint",
    "AksEndpointDeploymentConfiguration",
    "AksServiceDeploymentConfiguration",
    "AksWebservice",
    "DataCollection",
    "EncryptionProperties",
    "LocalWebservice",
    "LocalWebserviceDeploymentConfiguration",
    "VnetConfiguration",
    "Webservice",
]

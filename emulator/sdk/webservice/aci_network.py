"""``EncryptionProperties`` and ``VnetConfiguration``: what an ACI service reports of its
customer-managed key and virtual network (``AciWebservice.encryption_properties`` /
``vnet_configuration``), as the SDK reads them from the service payload.

Offline nothing is encrypted with the key and no virtual network exists; the service keeps the
values it was deployed with, so code that reads them back sees what it asked for.
"""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import WebserviceException


def _require(payload: dict[str, Any], keys: tuple[str, ...], kind: str) -> None:
    for key in keys:
        if key not in payload:
            raise WebserviceException(
                f"Invalid webservice payload, missing {key} for {kind}:\n{payload}"
            )


class EncryptionProperties:
    """The customer-managed key an ACI service was deployed with (``cmk_*`` settings)."""

    _expected_payload_keys = ("vaultBaseUrl", "keyName", "keyVersion")

    def __init__(self, cmk_vault_base_url: str, cmk_key_name: str, cmk_key_version: str) -> None:
        self.cmk_vault_base_url = cmk_vault_base_url
        self.cmk_key_name = cmk_key_name
        self.cmk_key_version = cmk_key_version

    def serialize(self) -> dict[str, Any]:
        return {
            "vaultBaseUrl": self.cmk_vault_base_url,
            "keyName": self.cmk_key_name,
            "keyVersion": self.cmk_key_version,
        }

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> EncryptionProperties | None:
        if payload_obj is None:
            return None
        _require(payload_obj, EncryptionProperties._expected_payload_keys, "EncryptionProperties")
        return EncryptionProperties(
            payload_obj["vaultBaseUrl"], payload_obj["keyName"], payload_obj["keyVersion"]
        )


class VnetConfiguration:
    """The virtual network and subnet an ACI service was deployed into (``vnet_name``,
    ``subnet_name`` settings)."""

    _expected_payload_keys = ("vnetName", "subnetName")

    def __init__(self, vnet_name: str, subnet_name: str) -> None:
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name

    def serialize(self) -> dict[str, Any]:
        return {"vnetName": self.vnet_name, "subnetName": self.subnet_name}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> VnetConfiguration | None:
        if payload_obj is None:
            return None
        _require(payload_obj, VnetConfiguration._expected_payload_keys, "VnetConfiguration")
        return VnetConfiguration(payload_obj["vnetName"], payload_obj["subnetName"])

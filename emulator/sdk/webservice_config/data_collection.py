"""``DataCollection``: an AKS service's model data collection settings, as the SDK reads them
from the service's payload (``AksWebservice.data_collection``).

``storage_enabled`` is the deployment's ``collect_model_data`` (the scoring script's
``ModelDataCollector`` then writes, see :mod:`emulator.services.model_data`); Azure's Event Hub
target is never enabled by the SDK's deploy configurations, so ``event_hub_enabled`` is False.
"""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import WebserviceException


class DataCollection:
    """Whether a service sends collected model data to storage (and to an Event Hub)."""

    _expected_payload_keys = ["eventHubEnabled", "storageEnabled"]

    def __init__(self, event_hub_enabled: bool, storage_enabled: bool) -> None:
        self.event_hub_enabled = event_hub_enabled
        self.storage_enabled = storage_enabled

    def serialize(self) -> dict[str, Any]:
        """The payload's ``dataCollection`` object."""
        return {"eventHubEnabled": self.event_hub_enabled, "storageEnabled": self.storage_enabled}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> DataCollection:
        """From the payload's ``dataCollection`` object; a missing key is the SDK's error."""
        for payload_key in DataCollection._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException(
                    f"Invalid webservice payload, missing {payload_key} for DataCollection:\n"
                    f"{payload_obj}"
                )
        return DataCollection(payload_obj["eventHubEnabled"], payload_obj["storageEnabled"])

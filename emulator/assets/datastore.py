"""The default datastore of a workspace, by name: ``workspaceblobstore``, its storage account and
its ``azureml-blobstore-<guid>`` container in the emulated blob plane.

State, not protocol: the ARM face answers datastore requests with these names and the input
resolver (:mod:`emulator.assets.inputs`) reads a job's ``azureml://datastores/...`` paths from
the same container, so both must derive them one way.
"""

from __future__ import annotations

import hashlib
import re

from emulator.store.workspaces import WorkspaceRecord

DEFAULT_DATASTORE = "workspaceblobstore"

#: ``azureml://datastores/<ds>/paths/<path>`` and the long form with subscription, resource
#: group and workspace before ``datastores/`` (both are what the client sends).
DATASTORE_URI = re.compile(
    r"azureml://(?:.*/)?datastores/(?P<datastore>[^/]+)/paths/(?P<path>.*)", re.IGNORECASE
)


def storage_account(record: WorkspaceRecord) -> str:
    """The workspace's storage account name (lower-case alphanumerics, as Azure's)."""
    name = "".join(c for c in record.name.lower() if c.isalnum())
    return (name + "storage")[:24]


def blob_container(record: WorkspaceRecord) -> str:
    """The default datastore's container: ``azureml-blobstore-<guid>`` as in Azure."""
    key = f"{record.subscription_id}/{record.resource_group}/{record.name}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return (
        f"azureml-blobstore-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-"
        f"{digest[20:32]}"
    )

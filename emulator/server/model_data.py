"""Where model data collection writes, and the variables that switch it on in a service.

Azure's ``azureml-monitoring`` (0.1.0a21, read from its sdist: ``modeldatacollector.py`` and
the strings of its native ``libmodeldatacollector.so``) writes CSV blobs into the ``modeldata``
container of the workspace's storage account, at::

    <subscription>/<resource group>/<workspace>/<service>/<model>/<version>/<designation>/
        <yyyy>/<mm>/<dd>[/<hh>]/<file>.csv

(the workspace triple lower-cased; ``<hh>`` only with ``AML_MODEL_DC_BOUNDARY=hour``; the file
``data.csv`` for the inputs, predictions and labels designations, ``<collection_name>.csv``
for signals and general). Azure's containers get ``AML_MODEL_DC_STORAGE_ENABLED=true`` and the
account's connection string (``AML_MODEL_DC_STORAGE``) when the deployment has
``collect_model_data=True``; without them ``collect()`` does nothing.

The emulator writes the same paths as files under a folder standing for that container
(:data:`DATA_DIR`): ``<root>/workspaces/<id>/modeldata``. A service's own data is the
``<subscription>/<resource group>/<workspace>/<service>`` folder below it
(:func:`service_folder`), which ``amlemu describe``, ``amlemu ls --data`` and the portal list.
This module runs in images (stdlib only), like the rest of the scoring server.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

#: Azure's switch: the collector writes only when this is ``true``.
STORAGE_ENABLED = "AML_MODEL_DC_STORAGE_ENABLED"
#: Azure's connection string of the workspace's storage account (informational here).
STORAGE = "AML_MODEL_DC_STORAGE"
#: ``hour``: one folder per hour under the day (Azure's ``AML_MODEL_DC_BOUNDARY``).
BOUNDARY = "AML_MODEL_DC_BOUNDARY"
#: ``true``: the collector prints what it collects (Azure's debug mode, no storage needed).
DEBUG = "AML_MODEL_DC_DEBUG"
#: [emulator] The folder standing for the ``modeldata`` container.
DATA_DIR = "AZUREML_EMULATOR_MODEL_DATA_DIR"
#: [emulator] ``<subscription>/<resource group>/<workspace>``, what Azure's collector reads from
#: ``/var/azureml-app/model_config_map.json`` (``accountContext``).
WORKSPACE = "AZUREML_EMULATOR_MODEL_DATA_WORKSPACE"
#: [emulator] The service a replica belongs to (the services' manager sets it on every replica).
SERVICE = "AZUREML_EMULATOR_SERVICE_NAME"

CONTAINER = "modeldata"
DESIGNATIONS = ("inputs", "predictions", "labels", "signals", "general")
#: Designations whose file is always ``data.csv`` (the others use their collection name).
_DATA_CSV = frozenset({"inputs", "predictions", "labels"})


@dataclass(frozen=True)
class Destination:
    """What a blob path is made of, apart from the day."""

    workspace: str
    service: str
    model: str
    version: str
    designation: str
    collection_name: str = "default"

    def blob_path(self, when: datetime.datetime, hourly: bool) -> str:
        """The blob name in the ``modeldata`` container for rows collected at ``when`` (UTC)."""
        day = f"{when.year:04d}/{when.month:02d}/{when.day:02d}"
        if hourly:
            day += f"/{when.hour:02d}"
        name = "data.csv" if self.designation in _DATA_CSV else f"{self.collection_name}.csv"
        return (
            f"{self.workspace}/{self.service}/{self.model}/{self.version}/"
            f"{self.designation}/{day}/{name}"
        )


def workspace_triple(subscription_id: str, resource_group: str, workspace: str) -> str:
    """The workspace part of the path, lower-cased as the collector writes it."""
    return f"{subscription_id}/{resource_group}/{workspace}".lower()


def service_folder(data_dir: Path, workspace: str, service: str) -> Path:
    """The folder holding everything collected for ``service`` (``workspace``: the triple)."""
    return data_dir.joinpath(*workspace.split("/"), service)


def collected_files(data_dir: Path, workspace: str, service: str) -> list[Path]:
    """Every CSV file collected for ``service``, in path order (model, version, designation,
    day)."""
    folder = service_folder(data_dir, workspace, service)
    return sorted(folder.rglob("*.csv")) if folder.is_dir() else []

"""Reading and writing the ``config.json`` that ``Workspace.from_config`` uses, as the SDK does."""

from __future__ import annotations

import json
import os
from pathlib import Path

from emulator.sdk.exceptions import UserErrorException

_SEARCH_SUBDIRS = (".azureml", "aml_config", "")
_FILE_NAMES = ("config.json", "project.json")
_SCOPE_PREFIX = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices"


def find_config(path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path:
    """The config file for ``path``: the file itself, or the first match walking upwards."""
    start = Path(path if path is not None else ".").resolve()
    if start.is_file():
        return start
    names = (file_name,) if file_name else _FILE_NAMES
    for directory in (start, *start.parents):
        for sub in _SEARCH_SUBDIRS:
            for name in names:
                candidate = directory / sub / name
                if candidate.is_file():
                    return candidate
    raise UserErrorException(
        f"The workspace configuration file config.json, could not be found in {start} or its "
        "parent directories. Please check whether the config file is in the current "
        "directory or one of its parent directories. [emulator] Write one with "
        "ws.write_config() or create .azureml/config.json with subscription_id, "
        "resource_group and workspace_name."
    )


def read_config(config_path: Path) -> tuple[str, str, str]:
    """``(subscription_id, resource_group, workspace_name)`` from a config file."""
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserErrorException(
            f"The config file found in: {config_path} is not valid JSON ({exc}). Fix or "
            "rewrite it with ws.write_config()."
        ) from exc
    if isinstance(data, dict) and "Scope" in data:
        parts = str(data["Scope"]).split("/")
        if len(parts) > 8:
            return parts[2], parts[4], parts[8]
    elif isinstance(data, dict):
        keys = ("subscription_id", "resource_group", "workspace_name")
        if all(data.get(k) for k in keys):
            return data["subscription_id"], data["resource_group"], data["workspace_name"]
    raise UserErrorException(
        f"The config file found in: {config_path} does not seem to contain the required "
        "parameters. Please make sure it contains your subscription_id, resource_group and "
        "workspace_name."
    )


def write_config(
    subscription_id: str,
    resource_group: str,
    workspace_name: str,
    path: str | os.PathLike[str] | None = None,
    file_name: str | None = None,
) -> Path:
    """Write ``<path>/.azureml/<file_name>`` with a ``Scope`` entry, like the SDK."""
    directory = Path(path if path is not None else ".") / ".azureml"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (file_name or "config.json")
    scope = _SCOPE_PREFIX.format(subscription_id, resource_group) + f"/workspaces/{workspace_name}"
    target.write_text(json.dumps({"Scope": scope}, indent=4), encoding="utf-8")
    return target

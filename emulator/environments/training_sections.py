"""The training-only sections of an ``Environment``: ``spark`` and ``databricks`` (and ``r``,
``None`` unless set), with the SDK's defaults and key names.

They configure Spark and Databricks runs, which the emulator does not run, and Azure's inference
images do not read them; they are kept with the environment (saved, registered, loaded back
under the SDK's keys) so notebooks that set them, such as
``env.spark.precache_packages = False``, run and read back what they set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DatabricksSection", "SparkSection"]


def _plain(items: list[Any]) -> list[Any]:
    """Library entries in JSON form (objects by their public attributes)."""
    return [
        item
        if isinstance(item, (str, int, float, bool, dict, type(None)))
        else {k: v for k, v in vars(item).items() if not k.startswith("_")}
        for item in items
    ]


class SparkSection:
    """Spark repositories and packages of a PySpark run."""

    def __init__(self, **kwargs: Any) -> None:
        self.repositories: list[str] = []
        self.packages: list[Any] = []
        self.precache_packages = True

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {
            "repositories": list(self.repositories),
            "packages": _plain(self.packages),
            "precachePackages": self.precache_packages,
        }

    def _load(self, data: Mapping[str, Any]) -> None:
        self.repositories = list(data.get("repositories") or [])
        self.packages = list(data.get("packages") or [])
        self.precache_packages = bool(data.get("precachePackages", True))


#: DatabricksSection's attributes and their keys in the SDK's JSON.
_DATABRICKS = {
    "maven_libraries": "mavenLibraries",
    "pypi_libraries": "pypiLibraries",
    "rcran_libraries": "rcranLibraries",
    "jar_libraries": "jarLibraries",
    "egg_libraries": "eggLibraries",
}


class DatabricksSection:
    """Libraries a Databricks run installs on its cluster."""

    def __init__(self, _skip_defaults: bool = False) -> None:
        self.maven_libraries: list[Any] = []
        self.pypi_libraries: list[Any] = []
        self.rcran_libraries: list[Any] = []
        self.jar_libraries: list[Any] = []
        self.egg_libraries: list[Any] = []

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {key: _plain(getattr(self, name)) for name, key in _DATABRICKS.items()}

    def _load(self, data: Mapping[str, Any]) -> None:
        for name, key in _DATABRICKS.items():
            setattr(self, name, list(data.get(key) or []))

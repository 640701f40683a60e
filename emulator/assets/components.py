"""Components of a workspace (``ml_client.components``): command components and pipeline
components, versioned like the other SDK v2 assets (:mod:`emulator.assets.versions`).

A version is what the client PUTs: ``componentSpec`` (the component's YAML as a dict: ``type``,
``command``, ``code``, ``environment``, ``inputs``, ``outputs``; for a pipeline its ``jobs``,
each naming the component it runs by ARM id) with ``isAnonymous``, ``properties``, ``tags``.
Azure checks what a component needs before storing it; so does this module, with errors naming
the fix: a command component without a command or environment, a pipeline whose step names a
component that is not there. The spec's ``name`` and ``version`` are the stored ones (a
version-less create gets the next version, as in Azure).

References to components come in the client's forms: an ARM id (with or without ``azureml:``),
``azureml:name:version``, ``name:version`` and ``name@latest``; :func:`parse_reference` reads
them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from emulator.assets.versions import AssetVersion, AssetVersions
from emulator.exceptions import BadArgument, NotFound
from emulator.store.root import EmulatorRoot

#: The component types the emulator runs (others are stored refused, naming these).
COMMAND, PIPELINE = "command", "pipeline"
#: What may change on an existing version (as for Azure's other assets).
MUTABLE = ("tags", "isArchived", "description")
_ARM_ID = re.compile(
    r"(?:azureml:)?/subscriptions/.+/components/(?P<name>[^/]+)/versions/(?P<v>[^/]+)"
)
_SHORT = re.compile(r"(?:azureml:)?(?P<name>[^:@/]+)(?::(?P<v>[^:@/]+)|@(?P<label>[^:@/]+))?")


@dataclass(frozen=True)
class ComponentRef:
    """A component named by a client: its name, and a version or a label (``latest``)."""

    name: str
    version: str | None = None
    label: str | None = None


def parse_reference(reference: str) -> ComponentRef:
    """The component ``reference`` names (see the module docstring for the forms);
    :class:`BadArgument` for anything else."""
    text = reference.strip()
    found = _ARM_ID.fullmatch(text)
    if found:
        return ComponentRef(found["name"], found["v"])
    found = _SHORT.fullmatch(text)
    if found and (found["v"] or found["label"] or text.startswith("azureml:")):
        return ComponentRef(found["name"], found["v"], found["label"] or None)
    raise BadArgument(
        f"'{reference}' does not name a component. [emulator] Name one by its id "
        "(azureml:/subscriptions/.../components/<name>/versions/<version>), as "
        "azureml:<name>:<version> or as <name>@latest.",
        code="UserError",
    )


@dataclass(frozen=True)
class Component:
    """One stored component version: the client's ``componentSpec`` and the version's fields."""

    name: str
    version: str
    spec: dict[str, Any]
    anonymous: bool
    created_time: str
    document: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.spec.get("type") or "")


class Components:
    """The components of the workspace ``workspace_id`` of ``root``."""

    def __init__(self, root: EmulatorRoot, workspace_id: int) -> None:
        self._versions = AssetVersions(root, workspace_id, "components")

    def put(self, name: str, version: str | None, document: dict[str, Any]) -> Component:
        """Store ``document`` (the PUT's ``properties``) as ``version`` of ``name`` (the next
        version when None); :class:`BadArgument` naming what the component lacks, a 409 when
        that version exists with another definition."""
        spec = document.get("componentSpec")
        if not isinstance(spec, dict):
            raise BadArgument(
                f"Component '{name}' has no componentSpec. [emulator] Create components with "
                "ml_client.components.create_or_update.",
                code="UserError",
            )
        number = version or self._versions.next_version(name)
        stored = {**document, "componentSpec": {**spec, "name": name, "version": number}}
        self._check(name, stored["componentSpec"])
        return _component(self._versions.put(name, number, stored, MUTABLE))

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Component:
        """A version of ``name`` (its latest when neither ``version`` nor ``label`` is given);
        :class:`NotFound` naming the versions there are."""
        if label not in (None, "latest"):
            raise BadArgument(
                f"Unknown label '{label}' for component '{name}': components have the label "
                "'latest' only.",
                code="UserError",
            )
        versions = self._versions.versions(name)
        if version is None:
            found = versions[0] if versions else None  # Azure's latest: the last created
        else:
            found = next((v for v in versions if v.version == version), None)
        if found is None:
            there = ", ".join(v.version for v in versions) or "none"
            raise NotFound(
                f"Component '{name}'{'' if version is None else f' version {version!r}'} does not "
                f"exist in this workspace (versions: {there}). [emulator] Create it with "
                "ml_client.components.create_or_update.",
                code="UserError",
            )
        return _component(found)

    def resolve(self, reference: str) -> Component:
        """The component a client's ``reference`` names (:func:`parse_reference`)."""
        ref = parse_reference(reference)
        return self.get(ref.name, ref.version, ref.label)

    def versions(self, name: str) -> list[Component]:
        """Every version of ``name``, newest first."""
        return [_component(v) for v in self._versions.versions(name)]

    def names(self) -> list[str]:
        """The workspace's component names (anonymous ones left out, as Azure lists them)."""
        seen: dict[str, None] = {}
        for version in self._versions.versions():
            if not version.spec.get("isAnonymous"):
                seen.setdefault(version.name, None)
        return sorted(seen)

    def next_version(self, name: str) -> str:
        return self._versions.next_version(name)

    def _check(self, name: str, spec: dict[str, Any]) -> None:
        kind = spec.get("type")
        if kind == COMMAND:
            missing = [key for key in ("command", "environment") if not spec.get(key)]
            if missing:
                raise BadArgument(
                    f"Command component '{name}' has no {' and no '.join(missing)}. A command "
                    "component needs a command to run and the environment it runs in.",
                    code="UserError",
                )
        elif kind == PIPELINE:
            jobs = spec.get("jobs")
            if not isinstance(jobs, dict) or not jobs:
                raise BadArgument(
                    f"Pipeline component '{name}' has no jobs. [emulator] Build it with "
                    "@pipeline from command components.",
                    code="UserError",
                )
            for step, job in jobs.items():
                reference = job.get("componentId") if isinstance(job, dict) else None
                if not isinstance(reference, str):
                    raise BadArgument(
                        f"Step '{step}' of pipeline component '{name}' names no component.",
                        code="UserError",
                    )
                self.resolve(reference)  # NotFound naming the versions there are
        else:
            raise BadArgument(
                f"Component '{name}' is of type {kind!r}. [emulator] The emulator stores and "
                f"runs '{COMMAND}' and '{PIPELINE}' components.",
                code="UserError",
            )


def _component(asset: AssetVersion) -> Component:
    spec = asset.spec["componentSpec"]
    return Component(
        name=asset.name,
        version=asset.version,
        spec=spec,
        anonymous=bool(asset.spec.get("isAnonymous")),
        created_time=asset.created_time,
        document=asset.spec,
    )

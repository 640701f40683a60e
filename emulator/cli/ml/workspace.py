"""Which workspace ``amlemu ml`` works in: ``az ml``'s flags, else ``config.json``, else the root's.

``az ml`` takes ``--subscription``, ``--resource-group/-g`` and ``--workspace-name/-w`` (or
``az configure`` defaults). Here a flag wins; what is left out comes from the ``config.json``
that ``MLClient.from_config()`` would find (``amlemu env --write-config`` writes one), then from
the emulator root when exactly one of its workspaces fits what was given. The workspace itself
need not exist: the emulator creates it on first use unless strict mode is on, as for the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulator.exceptions import InvalidSetting
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.workspace_config import find_config, read_config
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot


@dataclass(frozen=True)
class WorkspaceRef:
    """The three names ``MLClient`` needs."""

    subscription_id: str
    resource_group: str
    name: str


def resolve_workspace(
    root: EmulatorRoot,
    subscription: str | None,
    resource_group: str | None,
    workspace: str | None,
    cwd: Path,
) -> WorkspaceRef:
    """The flags, completed from ``config.json`` and then from the root's workspaces."""
    given = [subscription, resource_group, workspace]
    if not all(given):
        config = _config(cwd)
        if config is not None:
            given = [flag or value for flag, value in zip(given, config, strict=True)]
    if not all(given):
        fits = [
            state.record
            for state in workspace_states(root).all()
            if _fits(
                given,
                (state.record.subscription_id, state.record.resource_group, state.record.name),
            )
        ]
        if len(fits) == 1:
            given = [fits[0].subscription_id, fits[0].resource_group, fits[0].name]
    sub, rg, name = given
    if sub and rg and name:
        return WorkspaceRef(sub, rg, name)
    flags = ("--subscription", "--resource-group/-g", "--workspace-name/-w")
    missing = [flag for flag, value in zip(flags, given, strict=True) if not value]
    raise InvalidSetting(
        f"Could not tell which workspace to use: pass {', '.join(missing)} (or write a "
        "config.json for them with `amlemu env --write-config`; the workspace is created on "
        "first use unless strict mode is on)."
    )


def _config(cwd: Path) -> tuple[str, str, str] | None:
    """The names of the ``config.json`` found from ``cwd`` upwards; ``None`` when there is none."""
    try:
        path = find_config(cwd)
    except UserErrorException:
        return None
    try:
        return read_config(path)
    except UserErrorException as exc:
        raise InvalidSetting(str(exc)) from exc


def _fits(given: list[str | None], names: tuple[str, str, str]) -> bool:
    return all(
        want is None or want.lower() == have.lower()
        for want, have in zip(given, names, strict=True)
    )

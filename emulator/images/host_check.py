"""Whether the running interpreter already satisfies a requirement line (the host builder).

The host builder installs nothing, so a line it accepts must work as if pip had installed it:
the version, and the extras the line asks for. ``inference-schema[numpy-support]`` is
satisfied only where numpy is installed too, since the extra is what brings
``NumpyParameterType``'s dependency; without that check the image is accepted and the scoring
script fails at import time instead, far from the environment line that caused it.
"""

from __future__ import annotations

import importlib.metadata

from packaging.requirements import Requirement


def unmet(line: str) -> list[str]:
    """What this interpreter lacks for ``line``, one problem each; empty when satisfied."""
    requirement = Requirement(line)
    if requirement.marker is not None and not requirement.marker.evaluate():
        return []
    problem = _missing(requirement)
    if problem is not None:
        return [f"{line} required, {problem}"]
    return [
        f"{line} required: its extra '{extra}' needs {dependency}, {problem}"
        for extra in sorted(requirement.extras)
        for dependency in _extra_dependencies(requirement.name, extra)
        if (problem := _missing(dependency)) is not None
    ]


def _missing(requirement: Requirement) -> str | None:
    """Why the installed distribution does not satisfy ``requirement`` (``None``: it does)."""
    try:
        installed = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
    if not requirement.specifier.contains(installed, prereleases=True):
        return f"{installed} installed"
    return None


def _extra_dependencies(name: str, extra: str) -> list[Requirement]:
    """The dependencies the installed ``name`` declares for ``extra`` alone (on this platform)."""
    dependencies = []
    for text in importlib.metadata.requires(name) or []:
        dependency = Requirement(text)
        marker = dependency.marker
        if (
            marker is not None
            and marker.evaluate({"extra": extra})
            and not marker.evaluate({"extra": ""})
        ):
            dependency.marker = None
            dependencies.append(dependency)
    return dependencies

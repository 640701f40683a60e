"""Exact pins without a build for the image's python: their diagnosis, and the opt-in
``AZUREML_EMULATOR_PINS=nearest`` that replaces them.

Environments written for Azure pin versions for the python of Azure's image
(``scikit-learn==0.22.1`` on 3.7); for this machine's python such a version may have no wheel,
and installing it fails (or compiles for minutes, then fails with an unrelated-looking error).
By default pins are installed as written, as Azure does, and a failed install names each pin
that has no build with the nearest versions that do. With ``nearest`` those pins are replaced
before installing, by the lowest version above the pin that has a build, else the highest
below, and every replacement is written to the build log.

"Has a build" is asked of the package index through the installer's tool, with the
environment's index options: uv resolves the single requirement from wheels only, for the
virtualenv's python (``--resolution lowest`` finds the version just above a pin); pip lists
the versions it could install from wheels (the ``from versions:`` of its error for a version
that cannot exist).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from emulator.images.installer import Installer, run_logged
from emulator.settings import PINS_ENV

#: A version no index has (arbitrary equality): pip's error then lists every version it could use.
_IMPOSSIBLE = "===amlemu-version-probe"
_FROM_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
NEAREST_FIX = f"{PINS_ENV}=nearest (pytest: --aml-pins=nearest)"


@dataclass(frozen=True)
class ExactPin:
    """A requirement line pinning one version with ``==`` (no wildcard)."""

    line: str
    requirement: Requirement
    version: str

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    def with_version(self, version: Version) -> str:
        """The same requirement (extras, markers) pinned to ``version``."""
        replaced = Requirement(str(self.requirement))
        replaced.specifier = SpecifierSet(f"=={version}")
        return str(replaced)


def exact_pin(line: str) -> ExactPin | None:
    """``line`` as an exact pin that applies on this machine, or ``None``."""
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    specifiers = list(requirement.specifier)
    if requirement.url or len(specifiers) != 1:
        return None
    (specifier,) = specifiers
    if specifier.operator != "==" or specifier.version.endswith("*"):
        return None
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    return ExactPin(line, requirement, specifier.version)


@dataclass(frozen=True)
class Nearest:
    """The closest versions with a build on either side of a pin (``None``: there is none)."""

    above: Version | None
    below: Version | None

    @property
    def chosen(self) -> Version | None:
        """What ``nearest`` installs: the lowest version above the pin, else the highest below."""
        return self.above or self.below

    def describe(self) -> str:
        sides = [
            f"{version} ({side})"
            for version, side in ((self.above, "above"), (self.below, "below"))
            if version is not None
        ]
        return ", ".join(sides)


class BuildProbe:
    """Asks the index which versions of a package have a build this python can install."""

    def __init__(
        self,
        installer: Installer,
        options: Sequence[str],
        workdir: Path,
        python_version: str | None = None,
    ) -> None:
        self._installer = installer
        self._options = list(options)
        self._workdir = workdir
        #: The python asked about, when it is not the installer's (a Docker image's ``3.x``).
        self._python_version = python_version
        self._listed: dict[str, list[Version]] = {}
        workdir.mkdir(parents=True, exist_ok=True)

    def has_build(self, pin: ExactPin) -> bool:
        return self._pick(pin.name, f"=={pin.version}", lowest=False) is not None

    def nearest(self, pin: ExactPin) -> Nearest:
        return Nearest(
            above=self._pick(pin.name, f">{pin.version}", lowest=True),
            below=self._pick(pin.name, f"<{pin.version}", lowest=False),
        )

    def _pick(self, name: str, specifier: str, lowest: bool) -> Version | None:
        """The lowest (or highest) version matching ``specifier`` that has a build."""
        requirements = self._write(f"{name}{specifier}")
        run = self._installer.quiet_uv(
            ["pip", "compile", str(requirements), "--no-deps", "--only-binary", ":all:",
             *self._target("--python", str(self._installer.python)),
             "--no-header", "--no-annotate", "--quiet",
             *(["--resolution", "lowest"] if lowest else [])]
        )  # fmt: skip
        if run is not None:  # None: pip is the tool (uv is missing or cannot reach the index)
            return _compiled_version(run.tail, name) if run.ok else None
        matching = [v for v in self._pip_versions(name) if SpecifierSet(specifier).contains(v)]
        return (min if lowest else max)(matching, default=None)

    def _pip_versions(self, name: str) -> list[Version]:
        """Every version pip could install from a wheel, from its error for an impossible one."""
        if name not in self._listed:
            self._installer.ensure_pip("Resolve pins")
            requirements = self._write(name + _IMPOSSIBLE)
            run = run_logged(
                [str(self._installer.python), "-m", "pip", "download", "--no-deps",
                 "--disable-pip-version-check", "--only-binary", ":all:",
                 *self._target(), "--dest", str(self._workdir / "downloads"),
                 "-r", str(requirements)],
                None,
            )  # fmt: skip
            listed = [m.group(1) for line in run.tail if (m := _FROM_VERSIONS.search(line))]
            versions = (_version(text.strip()) for text in "".join(listed[-1:]).split(","))
            self._listed[name] = [v for v in versions if v is not None]
        return self._listed[name]

    def _target(self, *own: str) -> list[str]:
        """The tool's arguments naming the python asked about: ``own`` for the installer's."""
        if self._python_version is None:
            return list(own)
        return ["--python-version", self._python_version]

    def _write(self, requirement: str) -> Path:
        path = self._workdir / "probe-requirements.txt"
        path.write_text("".join(f"{line}\n" for line in [*self._options, requirement]))
        return path


def replace_pins(
    lines: Sequence[str], probe: BuildProbe, python: str
) -> tuple[list[str], list[str]]:
    """The requirements with every pin lacking a build replaced, and one line per replacement.

    A pin for which no version at all has a build is kept: installing it reports the problem.
    """
    result, replacements = [], []
    for line in lines:
        pin = exact_pin(line)
        chosen = None if pin is None or probe.has_build(pin) else probe.nearest(pin).chosen
        if pin is None or chosen is None:
            result.append(line)
            continue
        replacement = pin.with_version(chosen)
        result.append(replacement)
        replacements.append(
            f"{line} has no build for python {python}; installing {replacement} instead"
        )
    return result, replacements


def diagnose(lines: Sequence[str], probe: BuildProbe, python: str) -> str | None:
    """Why an install of ``lines`` failed, if pins without a build explain it; else ``None``.

    A pin is blamed only when other versions of its package have a build: an index that cannot
    be reached (or a package with no wheel at all) says nothing about the pin.
    """
    problems = []
    for line in lines:
        pin = exact_pin(line)
        if pin is None or probe.has_build(pin):
            continue
        nearest = probe.nearest(pin)
        if nearest.chosen is not None:
            problems.append(f"  - {line}: nearest versions with a build: {nearest.describe()}")
    if not problems:
        return None
    return (
        f"These pins have no build (wheel) for python {python}, the python this image is "
        "built with:\n" + "\n".join(problems) + "\nPin one of the nearest versions; or ask "
        "for the python the pins were made for (python=3.x in the conda spec) and install that "
        f"python on this machine; or let the emulator use the nearest versions: {NEAREST_FIX}."
    )


def _compiled_version(output: Sequence[str], name: str) -> Version | None:
    """The version of ``name`` in ``uv pip compile``'s output (``name==version`` lines)."""
    for line in output:
        match = _PINNED.match(line.strip())
        if match and canonicalize_name(match.group(1)) == name:
            return _version(match.group(2))
    return None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None

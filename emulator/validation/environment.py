"""The declared environment, built as a deployment builds it, and what resolves inside it.

The environment comes from the local builder: in ``host`` mode when this interpreter already
satisfies every requirement (nothing to install, fast), else in a virtualenv from its cache
(keyed by the environment's hash, so an unchanged environment is reused). ``auto`` picks.
Either way imports are answered by a probe run in the image's interpreter with the image's
variables. In host mode the interpreter has more than the environment declares, so a module
found there must also come from a declared distribution or one of their dependencies; otherwise
it would be missing in Azure.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from emulator.images.builders.local import LocalBuilder, LocalImage, load_local_image
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext, ImageRequest, write_context
from emulator.models.records import ModelRecord
from emulator.runtime.backends.base import LaunchSpec
from emulator.runtime.backends.process import container_environment
from emulator.shim import ROOTS as SHIM_ROOTS
from emulator.store.blobs import BlobStore
from emulator.store.root import EmulatorRoot
from emulator.validation.checks import Finding, finding
from emulator.validation.static import ScriptFacts
from emulator.validation.target import CannotValidate

MODES = ("auto", "host", "venv")
#: Library versions read from the model file itself (numpy's is only a guess at registration).
RECORDED_IN_FILE = ("scikit-learn",)
_HOST_CHECK_STEP = "Check host interpreter"
_PROBE_TIMEOUT_S = 120


@dataclass(frozen=True)
class BuiltEnvironment:
    image: LocalImage
    mode: str
    context: BuildContext
    build_log: Path

    def process_environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The variables a replica of this image gets (the process backend's rules)."""
        spec = LaunchSpec("validate", str(self.image.app_root), 0, self.build_log, extra or {})
        return container_environment(self.image, spec)


@dataclass(frozen=True)
class EnvironmentFacts:
    modules: dict[str, dict[str, object]] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    python: str = ""


def build_environment(
    request: ImageRequest, workdir: Path, root: EmulatorRoot, blobs: BlobStore, mode: str = "auto"
) -> BuiltEnvironment:
    """Write the build context and build it; :class:`CannotValidate` if it cannot be built."""
    if mode not in MODES:
        raise CannotValidate(f"Unknown environment mode {mode!r}: use one of {', '.join(MODES)}.")
    context = write_context(request, workdir / "context", blobs)
    log = BuildLog(workdir / "build.log")
    attempts = ["host", "venv"] if mode == "auto" else [mode]
    for attempt in attempts:
        image_dir = workdir / f"image-{attempt}"
        try:
            location = LocalBuilder(root, attempt).build(context, log, image_dir, "validate:1")
        except BuildFailed as failure:
            if attempt == "host" and mode == "auto" and failure.step == _HOST_CHECK_STEP:
                continue
            raise CannotValidate(
                f"The environment cannot be built ({failure.step}): {failure.message}"
            ) from None
        return BuiltEnvironment(load_local_image(location), attempt, context, log.path)
    raise AssertionError("unreachable: the venv attempt returns or raises")


def probe_environment(
    env: BuiltEnvironment, modules: Iterable[str], distributions: Iterable[str]
) -> EnvironmentFacts:
    """Ask the image's interpreter what resolves and what is installed."""
    request = {"modules": sorted(set(modules)), "distributions": sorted(set(distributions))}
    try:
        done = subprocess.run(
            [str(env.image.python), "-m", "emulator.validation.envprobe"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=env.image.app_root,
            env=env.process_environment(),
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotValidate(f"The environment's interpreter cannot be run: {exc}") from None
    if done.returncode != 0:
        raise CannotValidate(
            f"The environment's interpreter {env.image.python} failed to start the import "
            f"probe (exit code {done.returncode}):\n{done.stderr.strip()[-2000:]}"
        )
    data = json.loads(done.stdout)
    return EnvironmentFacts(data["modules"], data["versions"], data["python"])


def import_findings(
    facts: ScriptFacts, env: BuiltEnvironment, found: EnvironmentFacts
) -> list[Finding]:
    """AML010 for each imported top-level module the environment does not provide."""
    declared = not env.context.request.environment.python.user_managed_dependencies
    allowed = declared_distributions(env.context) if env.mode == "host" and declared else None
    findings = []
    reported: set[str] = set()
    for ref in facts.imports:
        top = ref.top
        if ref.guarded or top in reported:
            continue
        module = found.modules.get(top, {})
        if not module.get("found"):
            problem = "is not installed in the environment"
        elif allowed is not None and not _provided(top, module, env, allowed):
            problem = (
                "is installed on this machine but no declared package (or dependency of one) "
                "provides it"
            )
        else:
            continue
        reported.add(top)
        distribution = _distribution_hint(top)
        findings.append(
            finding(
                "AML010",
                f"import {ref.module}: module '{top}' {problem}",
                hint=f"Add {distribution} to the environment's pip dependencies."
                if distribution
                else None,
                path=facts.display,
                line=ref.line,
            )
        )
    return findings


def pin_findings(env: BuiltEnvironment) -> list[Finding]:
    """AML012 for each exact pin the build replaced (``AZUREML_EMULATOR_PINS=nearest``): the
    image then differs from the one Azure builds."""
    return [finding("AML012", replacement) for replacement in env.image.pin_replacements]


def version_findings(models: Sequence[ModelRecord], found: EnvironmentFacts) -> list[Finding]:
    """AML060 where a model file records a library version the environment does not have."""
    findings = []
    for record in models:
        for distribution in RECORDED_IN_FILE:
            pickled = record.library_versions.get(distribution)
            installed = found.versions.get(distribution)
            if pickled and installed and pickled != installed:
                findings.append(
                    finding(
                        "AML060",
                        f"model {record.model_id} was pickled with {distribution} {pickled}; "
                        f"the environment has {installed}",
                        hint=f"Pin {distribution}=={pickled} in the environment, or re-train "
                        f"the model with {distribution} {installed} and register it again.",
                    )
                )
    return findings


def declared_distributions(context: BuildContext) -> frozenset[str]:
    """The declared requirements, the emulator's own, and everything they depend on."""
    roots = [*context.resolved.pip, *context.runtime_requirements()]
    roots += context.resolved.provided_by_emulator
    return _closure(tuple(roots))


@functools.lru_cache(maxsize=32)
def _closure(requirements: tuple[str, ...]) -> frozenset[str]:
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    pending = list(requirements)
    while pending:
        try:
            requirement = Requirement(pending.pop())
        except InvalidRequirement:
            continue
        name = canonicalize_name(requirement.name)
        extras = ("", *sorted(requirement.extras))
        if all((name, extra) in seen for extra in extras):
            continue
        seen.update((name, extra) for extra in extras)
        names.add(name)
        try:
            dependencies = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in dependencies:
            try:
                marker = Requirement(line).marker
            except InvalidRequirement:
                continue
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(line)
    return frozenset(names)


def _provided(
    top: str, module: dict[str, object], env: BuiltEnvironment, allowed: frozenset[str]
) -> bool:
    if top in sys.stdlib_module_names or top in SHIM_ROOTS:  # answered by the emulator
        return True
    origin = module.get("origin")
    if isinstance(origin, str) and (
        Path(origin).is_relative_to(env.image.app_root)
        or any(Path(origin).is_relative_to(entry) for entry in env.image.python_path)
    ):
        return True
    owners = _module_owners().get(top, [])
    return any(canonicalize_name(owner) in allowed for owner in owners)


@functools.cache
def _module_owners() -> dict[str, list[str]]:
    """Top-level module → the distributions that install it, on this interpreter."""
    return dict(importlib.metadata.packages_distributions())


def _distribution_hint(top: str) -> str | None:
    owners = _module_owners().get(top)
    if owners:
        return owners[0]
    return None

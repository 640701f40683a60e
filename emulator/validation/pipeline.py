"""``validate``: every check on one target, cheapest first.

The script's text is checked first; the models are then registered into a scratch registry (so
their files and library versions are exactly what registration records) and laid out with the
environment by the image builder's own code; the environment is asked what resolves; init() and
the samples run last, in that environment. Nothing is left behind except the cached virtualenv.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

from emulator.exceptions import EmulatorError
from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.models.registry import ModelRegistry
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore
from emulator.validation import environment, model_paths, resources, runtime, static
from emulator.validation.environment import RECORDED_IN_FILE
from emulator.validation.report import Report
from emulator.validation.target import CannotValidate, ModelSource, ValidationTarget

DEFAULT_BUDGET_S = 600.0


def validate(
    target: ValidationTarget,
    *,
    mode: str = "auto",
    root: EmulatorRoot | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
) -> Report:
    """Run every check; :class:`CannotValidate` when the environment cannot be built.

    ``mode``: ``auto`` (this interpreter when it satisfies the environment, else a cached
    virtualenv), ``host`` or ``venv``. ``root`` holds the virtualenv cache (default: the current
    emulator root). ``budget_s`` bounds the time init() and the samples may take together.
    """
    display = _display(target)
    facts, findings = static.analyse(target.entry_script, display)
    if facts.tree is None:  # nothing to import or run: the syntax error is the report
        return Report(display, findings, limits=target.limits.to_dict())
    with tempfile.TemporaryDirectory(prefix="amlemu-validate-") as scratch:
        workdir = Path(scratch)
        models_root = EmulatorRoot(workdir / "models")
        records = register_models(target.models, models_root)
        findings += model_paths.check_model_paths(facts, records)
        request = ImageRequest(
            entry_script=target.entry_script,
            environment=target.environment,
            models=records,
            source_directory=target.source_directory,
        )
        env = environment.build_environment(
            request, workdir, root or EmulatorRoot.current(), models_root.blobs, mode
        )
        found = environment.probe_environment(
            env, (ref.top for ref in facts.imports), RECORDED_IN_FILE
        )
        findings += environment.pin_findings(env)
        findings += environment.import_findings(facts, env, found)
        findings += static.deprecated_imports(facts, found.versions)
        findings += environment.version_findings(records, found)
        measurements = None
        if facts.runnable:
            run = runtime.run_probe(
                env,
                target.samples,
                workdir,
                scoring_timeout_ms=target.limits.scoring_timeout_ms or int(budget_s * 1000),
                budget_s=budget_s,
                variables=target.environment_variables,
            )
            findings += runtime.runtime_findings(run, target.samples, display, target.limits)
            measured = resources.measure(run)
            if measured is not None:
                findings += resources.resource_findings(measured, target.limits)
                measurements = resources.summary(measured, target.limits)
    return Report(
        display,
        findings,
        environment={"mode": env.mode, "python": found.python},
        measurements=measurements,
        limits=target.limits.to_dict(),
    )


def register_models(models: Sequence[ModelSource], root: EmulatorRoot) -> tuple[ModelRecord, ...]:
    """Register each model in a scratch workspace of ``root``, at its requested version."""
    if not models:
        return ()
    workspace, _ = WorkspaceStore(root).create("validation", "validation", "validation")
    registry = ModelRegistry(root, workspace.id)
    records = []
    for model in models:
        try:
            record = registry.register(model.path, model.name)
        except EmulatorError as exc:
            raise CannotValidate(f"Model {model.name} cannot be registered: {exc}") from None
        if model.version is not None:
            record = dataclasses.replace(record, version=model.version)
        records.append(record)
    return tuple(records)


def _display(target: ValidationTarget) -> str:
    if target.source_directory is not None:
        return target.entry_script.relative_to(target.source_directory.resolve()).as_posix()
    return target.entry_script.name

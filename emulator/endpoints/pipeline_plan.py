"""A pipeline component read as the steps a job runs: which command component each step is,
where each of its inputs comes from, which pipeline outputs its outputs are, and the order.

A pipeline component's ``jobs`` (what azure-ai-ml's ``@pipeline`` sends) bind a step's inputs
with ``${{parent.inputs.<name>}}`` (a pipeline input), ``${{parent.jobs.<step>.outputs.<name>}}``
(an earlier step's output: the step runs after that one) or a literal value, and a step's
outputs with ``${{parent.outputs.<name>}}`` (a pipeline output). Steps run in an order that
puts every step after the steps whose outputs it reads, otherwise in the order of the spec (the
emulator runs them one at a time). What cannot run is refused when the deployment is created,
naming the step: a step that is not a command component, a binding to a step or an input that
is not there, a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from emulator.assets.components import COMMAND, PIPELINE, Component, Components
from emulator.exceptions import BadArgument

_PARENT_INPUT = re.compile(r"\$\{\{\s*parent\.inputs\.(?P<name>[^.\s}]+)\s*\}\}")
_STEP_OUTPUT = re.compile(
    r"\$\{\{\s*parent\.jobs\.(?P<step>[^.\s}]+)\.outputs\.(?P<name>[^.\s}]+)\s*\}\}"
)
_PARENT_OUTPUT = re.compile(r"\$\{\{\s*parent\.outputs\.(?P<name>[^.\s}]+)\s*\}\}")


@dataclass(frozen=True)
class Source:
    """Where a step input's value comes from: a pipeline input, an earlier step's output, a
    literal value, or a data path (``uri``: a data asset, datastore path or URL)."""

    kind: Literal["parent", "step", "literal", "uri"]
    name: str = ""
    output: str = ""
    value: str = ""
    input_type: str = "uri_folder"


@dataclass(frozen=True)
class PlannedStep:
    """One step of the pipeline: its name, its command component, its inputs' sources and its
    outputs that are the pipeline's (step output → pipeline output)."""

    name: str
    component: Component
    inputs: dict[str, Source]
    pipeline_outputs: dict[str, str]


def plan(components: Components, pipeline: Component) -> list[PlannedStep]:
    """The steps of ``pipeline`` in the order they run; :class:`BadArgument` naming what
    cannot run."""
    if pipeline.type != PIPELINE:
        raise BadArgument(
            f"Component '{pipeline.name}' version '{pipeline.version}' is a {pipeline.type!r} "
            "component; a pipeline component batch deployment needs a pipeline component. "
            "[emulator] Build one with @pipeline from command components and register it with "
            "ml_client.components.create_or_update.",
            code="UserError",
        )
    jobs = pipeline.spec.get("jobs") or {}
    steps = {name: _step(components, pipeline, name, job) for name, job in jobs.items()}
    for step in steps.values():
        for key, source in step.inputs.items():
            _check_source(pipeline, steps, step, key, source)
    return _ordered(pipeline, steps)


def _step(
    components: Components, pipeline: Component, name: str, job: dict[str, Any]
) -> PlannedStep:
    component = components.resolve(str(job.get("componentId") or ""))
    if component.type != COMMAND:
        raise BadArgument(
            f"Step '{name}' of pipeline component '{pipeline.name}' runs a {component.type!r} "
            "component. [emulator] Pipeline steps run here are command components "
            "(nested pipelines and other step types are not emulated).",
            code="UserError",
        )
    inputs = {key: _source(value) for key, value in (job.get("inputs") or {}).items()}
    pipeline_outputs: dict[str, str] = {}
    for key, value in (job.get("outputs") or {}).items():
        found = _PARENT_OUTPUT.fullmatch(str(_value(value)).strip())
        if found:
            pipeline_outputs[key] = found["name"]
    return PlannedStep(name, component, inputs, pipeline_outputs)


def _value(binding: Any) -> Any:
    return binding.get("value", binding.get("uri", "")) if isinstance(binding, dict) else binding


def _source(binding: Any) -> Source:
    value = _value(binding)
    text = "" if value is None else str(value).strip()
    found = _PARENT_INPUT.fullmatch(text)
    if found:
        return Source("parent", name=found["name"])
    found = _STEP_OUTPUT.fullmatch(text)
    if found:
        return Source("step", name=found["step"], output=found["name"])
    kind = str(binding.get("job_input_type") or "") if isinstance(binding, dict) else ""
    if isinstance(binding, dict) and binding.get("uri"):
        return Source("uri", value=text, input_type=kind or "uri_folder")
    return Source("literal", value=text)


def _check_source(
    pipeline: Component,
    steps: dict[str, PlannedStep],
    step: PlannedStep,
    key: str,
    source: Source,
) -> None:
    where = f"Input '{key}' of step '{step.name}' of pipeline component '{pipeline.name}'"
    if source.kind == "parent" and source.name not in (pipeline.spec.get("inputs") or {}):
        raise BadArgument(
            f"{where} reads pipeline input '{source.name}', which the pipeline does not declare.",
            code="UserError",
        )
    if source.kind == "step":
        other = steps.get(source.name)
        if other is None:
            raise BadArgument(
                f"{where} reads an output of step '{source.name}', which the pipeline does "
                f"not have (steps: {', '.join(steps)}).",
                code="UserError",
            )
        if source.output not in (other.component.spec.get("outputs") or {}):
            raise BadArgument(
                f"{where} reads output '{source.output}' of step '{source.name}', which its "
                f"component '{other.component.name}' does not declare.",
                code="UserError",
            )


def _ordered(pipeline: Component, steps: dict[str, PlannedStep]) -> list[PlannedStep]:
    """Every step after the steps it reads from; the spec's order otherwise."""
    ordered: list[PlannedStep] = []
    placed: set[str] = set()
    while len(ordered) < len(steps):
        ready = [
            step
            for name, step in steps.items()
            if name not in placed
            and all(s.name in placed for s in step.inputs.values() if s.kind == "step")
        ]
        if not ready:
            left = ", ".join(name for name in steps if name not in placed)
            raise BadArgument(
                f"The steps {left} of pipeline component '{pipeline.name}' read each other's "
                "outputs in a cycle: no order runs them.",
                code="UserError",
            )
        ordered.append(ready[0])
        placed.add(ready[0].name)
    return ordered

"""Pipeline component batch deployments (``PipelineComponentBatchDeployment``): what Azure
checks when one is created, and what each of its steps runs in.

azure-ai-ml 1.35.2 PUTs such a deployment with api-version 2023-02-01-preview and
``properties.deploymentConfiguration`` = ``{"deploymentConfigurationType": "PipelineComponent",
"componentId": {"assetId": <component id>}, "settings": {"default_compute": ..., ...}}`` (no
model, code or environment: the component's steps carry their own). The component must be a
pipeline component of the workspace whose steps can run (:mod:`emulator.endpoints.pipeline_plan`)
and ``default_compute`` an AmlCompute cluster of it; the deployment is then ready at once, as
Azure's is (a step's environment is built when a job runs it, by :func:`step_image`: the
image builder of the other deployments, one image per environment version, cached).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator._version import __version__
from emulator.assets.components import Component, Components
from emulator.endpoints import batch_provisioning
from emulator.endpoints.pipeline_plan import PlannedStep, plan
from emulator.endpoints.provisioning import WorkspaceAssets, code_files, environment_of
from emulator.exceptions import BadArgument, OperationFailed
from emulator.images.build import log_path, start_build, wait_for_build
from emulator.images.builders.select import select_builder
from emulator.images.context import ImageRequest
from emulator.images.records import CreationState, ImageRecord
from emulator.settings import builder_name
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord

#: ``deploymentConfigurationType`` of a pipeline component deployment.
PIPELINE_COMPONENT = "PipelineComponent"
#: The image property naming the environment version (and builder) an image was built from.
STEP_IMAGE_PROPERTY = "amlemu.pipelineStepEnvironment"
#: The setting's names: the documented one, and the one azure-ai-ml reads back.
_CONTINUE_ON_STEP_FAILURE = (
    "continue_on_step_failure",
    "ComponentDeployment.Settings.continue_on_step_failure",
)
#: Lines of a failed build's log quoted in the step's error.
_TAIL_LINES = 50
#: The image's entry script: a command step has no scoring script, its command runs instead.
_ENTRY = '"""A pipeline step\'s image: the step\'s command runs in its interpreter."""\n'


def is_pipeline(properties: dict[str, Any]) -> bool:
    """Whether a batch deployment's properties are a pipeline component deployment's."""
    configuration = properties.get("deploymentConfiguration")
    return (
        isinstance(configuration, dict)
        and str(configuration.get("deploymentConfigurationType") or "").casefold()
        == PIPELINE_COMPONENT.casefold()
    )


def settings(properties: dict[str, Any]) -> dict[str, Any]:
    """The deployment's ``settings`` (``default_compute``, ``continue_on_step_failure``, ...)."""
    found = (properties.get("deploymentConfiguration") or {}).get("settings")
    return found if isinstance(found, dict) else {}


def component_id(properties: dict[str, Any]) -> str:
    """The id of the deployment's pipeline component, as the client sent it."""
    reference = (properties.get("deploymentConfiguration") or {}).get("componentId")
    asset = reference.get("assetId") if isinstance(reference, dict) else reference
    return str(asset or "")


def check(
    root: EmulatorRoot,
    workspace: WorkspaceRecord,
    workspace_id: int,
    name: str,
    properties: dict[str, Any],
) -> list[PlannedStep]:
    """What Azure refuses before storing a pipeline component deployment: no component, one
    that is not there or not a pipeline, a step that cannot run, no ``default_compute`` or one
    that is not an AmlCompute cluster of the workspace. Returns the pipeline's steps."""
    reference = component_id(properties)
    if not reference:
        raise BadArgument(
            f"Pipeline component deployment '{name}' names no component. [emulator] Pass "
            "component=<a PipelineComponent or its azureml: id>.",
            code="UserError",
        )
    components = Components(root, workspace_id)
    steps = plan(components, components.resolve(reference))
    compute = settings(properties).get("default_compute")
    batch_provisioning.check_compute(root, workspace, name, {"compute": compute})
    continue_on_failure = (settings(properties).get(key) for key in _CONTINUE_ON_STEP_FAILURE)
    if any(str(value).casefold() == "true" for value in continue_on_failure):
        raise BadArgument(
            f"Pipeline component deployment '{name}' sets continue_on_step_failure. [emulator] "
            "Steps run one after another here and a failed step fails the job (Azure's "
            "default); leave the setting out or set it to False.",
            code="UserError",
        )
    return steps


def pipeline_of(root: EmulatorRoot, workspace_id: int, properties: dict[str, Any]) -> Component:
    """The deployment's pipeline component."""
    return Components(root, workspace_id).resolve(component_id(properties))


def step_code(workspace: WorkspaceAssets, component: Component, into: Path) -> Path:
    """The step's code folder (its uploaded files under ``into``; empty when it has none): the
    command's working directory, as Azure's snapshot is."""
    code = component.spec.get("code")
    if not code:
        into.mkdir(parents=True, exist_ok=True)
        return into
    return code_files(workspace, str(code), into)


def step_image(workspace: WorkspaceAssets, component: Component, work: Path) -> ImageRecord:
    """The image of the step's environment: built by the emulator's builder (an environment
    version is immutable, so one image serves every step and job that uses it);
    :class:`OperationFailed` with the build log's tail when it does not build."""
    environment_id = str(component.spec.get("environment") or "")
    key = f"{environment_id}\0{builder_name()}\0{__version__}"
    images = workspace.images
    for image in reversed(images.records()):
        if image.properties.get(STEP_IMAGE_PROPERTY) != key:
            continue
        built = image.state is CreationState.SUCCEEDED and image.location
        if built and Path(str(image.location)).exists():
            return image
    work.mkdir(parents=True, exist_ok=True)
    entry = work / "pipeline_step.py"
    entry.write_text(_ENTRY, encoding="utf-8")
    request = ImageRequest(
        entry_script=entry, environment=environment_of(workspace, environment_id, work)
    )
    builder = select_builder(workspace.root)
    record = images.create(
        "pipeline-step",
        builder=builder.name,
        entry_script=entry.name,
        properties={STEP_IMAGE_PROPERTY: key},
    )
    record = wait_for_build(
        images, start_build(images, record, request, builder, workspace.root.blobs)
    )
    if record.state is not CreationState.SUCCEEDED:
        lines = log_path(record).read_text(encoding="utf-8", errors="replace").splitlines()
        raise OperationFailed(
            f"ImageBuildFailure: the environment of component '{component.name}' failed to "
            f"build.\nBuild log (last {_TAIL_LINES} lines):\n" + "\n".join(lines[-_TAIL_LINES:]),
            code="UserError",
        )
    return record

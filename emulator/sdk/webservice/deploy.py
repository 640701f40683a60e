"""``Model.deploy``: package the models with an inference configuration, then deploy.

The image is built in the background (as Azure builds the environment image as part of the
deployment); the service stays ``Transitioning`` until it is built and its replicas are ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emulator.sdk.package import package_models
from emulator.sdk.webservice.base import Webservice, _default_config, validate_service_name

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


def deploy_models(
    workspace: Workspace,
    name: str,
    models: Sequence[Any],
    inference_config: Any,
    deployment_config: Any,
    deployment_target: Any,
    overwrite: bool,
    show_output: bool,
) -> Webservice:
    validate_service_name(name)
    config = _default_config(deployment_config, deployment_target)
    if inference_config is None:
        from emulator.sdk.webservice.nocode import no_code_inference_config

        inference_config = no_code_inference_config(workspace, models)
    if show_output:
        print(f"Models: {[getattr(m, 'id', m) for m in models]}")
        target = getattr(deployment_target, "name", None) or config.compute_type
        print(f"Compute target: {target}")
        print(f"Entry script: {getattr(inference_config, 'entry_script', None)}")
        config.print_deploy_configuration()
    from emulator.sdk.accel import AccelInferenceConfig

    if isinstance(inference_config, AccelInferenceConfig):
        image = inference_config._image(workspace, name, models)
    else:
        image = package_models(workspace, models, inference_config, image_name=name)
    webservice_type = Webservice._subclasses[config.compute_type]
    service = webservice_type._deploy(
        workspace, name, image._record, config, deployment_target, overwrite
    )
    if show_output:
        print(
            "Request submitted, please run wait_for_deployment(show_output=True) to get "
            "deployment status."
        )
    return service

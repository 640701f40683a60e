"""``Model.get_sas_urls`` and ``Model.print_configuration``: a mixin of
:class:`emulator.sdk.model.Model` (signatures of azureml-core 1.61).

Azure answers ``get_sas_urls`` with a time-limited SAS URL per file of the model's blob folder.
Offline the files are the content-addressed blobs under the emulator root, so each file name
maps to the ``file:`` URI of its stored blob: ``urllib.request.urlopen`` reads it as it would
read a SAS URL, and nothing leaves the machine.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.models.records import ModelRecord
    from emulator.sdk.workspace import Workspace


class ModelMembers:
    """What ``Model`` offers beyond registration and lookup."""

    workspace: Workspace
    _record: ModelRecord

    def get_sas_urls(self) -> dict[str, str]:
        """File name (relative to the model's folder) -> a URL that reads the stored file."""
        blobs = self.workspace.emulator_state.root.blobs
        return {
            model_file.path: blobs.path_for(model_file.digest).absolute().as_uri()
            for model_file in self._record.files
        }

    @staticmethod
    def print_configuration(
        models: Sequence[Any], inference_config: Any, deployment_config: Any, deployment_target: Any
    ) -> None:
        """Print what a deployment will use, as ``Model.deploy(show_output=True)`` does first."""
        if len(models) > 0:
            print(f"Models: {[model.id for model in models]}")
        if deployment_target:
            print(f"Compute target: {deployment_target.name}")
        if inference_config:
            if inference_config.entry_script:  # a no-code deployment has none
                script = os.path.join(
                    inference_config.source_directory or "", inference_config.entry_script
                )
                print(f"Entry script: {script}")
            if inference_config.base_image:
                print(f"Base image: {inference_config.base_image}")
            _print_environment(inference_config.environment)
        if deployment_config:
            deployment_config.print_deploy_configuration()


def _print_environment(environment: Any) -> None:
    """The parts of an inference configuration's environment the SDK prints."""
    if environment is None:
        return
    if environment.environment_variables and len(environment.environment_variables) > 1:
        print(f"Environment variables: {environment.environment_variables}")
    python = environment.python
    if python and python.conda_dependencies:
        dependencies = python.conda_dependencies.as_dict().get("dependencies")
        if dependencies:
            print(f"Environment dependencies: {dependencies}")
    if environment.docker and environment.docker.base_image:
        print(f"Environment docker image: {environment.docker.base_image}")
    if environment.docker and environment.docker.base_dockerfile:
        print(f"Environment docker file: {environment.docker.base_dockerfile}")

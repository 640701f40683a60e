"""What the pipeline deployment tests of tests/arm/test_batch_jobs_list.py and
test_batch_pipeline_io.py share: a pipeline component batch deployment of one command step
(no pipeline input), made through the real azure-ai-ml on the ``client`` fixture's cluster."""

from __future__ import annotations

from azure.ai.ml import MLClient, Output
from azure.ai.ml.dsl import pipeline
from azure.ai.ml.entities import (
    BatchEndpoint,
    CommandComponent,
    Environment,
    PipelineComponentBatchDeployment,
)

from tests.arm.batch_jobs_support import IMAGE


def one_step_deployment(
    client: MLClient, endpoint: str, command: str, outputs: tuple[str, ...] = ()
) -> None:
    """Endpoint ``endpoint`` with the default deployment ``steps``: a pipeline
    (``<endpoint>_pipe``) of one step running ``command``, whose folder outputs ``outputs``
    are the pipeline's."""
    prefix = endpoint.replace("-", "_")  # a component's name: lower letters, digits, _
    component = CommandComponent(
        name=f"{prefix}_step",
        command=command,
        outputs={name: Output(type="uri_folder") for name in outputs},
        environment=Environment(image=IMAGE),
    )

    def one_step():  # type: ignore[no-untyped-def]
        step = component()
        return {name: step.outputs[name] for name in outputs}

    one_step.__annotations__ = {}  # no pipeline input
    registered = client.components.create_or_update(pipeline(one_step, name=f"{prefix}_pipe"))
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=endpoint)).result()
    client.batch_deployments.begin_create_or_update(
        PipelineComponentBatchDeployment(
            name="steps",
            endpoint_name=endpoint,
            component=registered,
            settings={"default_compute": "cpu-cluster"},
        )
    ).result()

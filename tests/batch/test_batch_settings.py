"""A batch deployment's settings as the real azure-ai-ml sends them, with Azure's defaults."""

from __future__ import annotations

import pytest
from azure.ai.ml._restclient.arm_ml_service import models as rest
from azure.ai.ml.entities import BatchRetrySettings, ModelBatchDeployment
from azure.ai.ml.entities import ModelBatchDeploymentSettings as SdkSettings

from emulator.batch.settings import BatchSettings, parse_duration
from emulator.exceptions import BadArgument


def _wire(settings: SdkSettings) -> dict[str, object]:
    """The ``properties`` the client sends for a deployment with ``settings``."""
    deployment = ModelBatchDeployment(
        name="blue",
        endpoint_name="ep",
        model="azureml:m:1",
        compute="cpu",
        settings=settings,
    )
    body = deployment._to_rest_object(location="westus")
    assert isinstance(body, rest.BatchDeployment)
    properties: dict[str, object] = body.properties.as_dict()
    return properties


def test_what_the_client_leaves_out_takes_azures_defaults() -> None:
    settings = BatchSettings.from_properties(_wire(SdkSettings(mini_batch_size=None)))
    assert settings == BatchSettings()
    assert (settings.mini_batch_size, settings.output_file_name, settings.max_retries) == (
        10,
        "predictions.csv",
        3,
    )
    assert (settings.timeout, settings.error_threshold, settings.workers) == (30.0, -1, 1)


def test_every_setting_the_client_sends_is_read() -> None:
    sent = SdkSettings(
        mini_batch_size=5,
        instance_count=2,
        max_concurrency_per_instance=3,
        output_action="append_row",
        output_file_name="out.txt",
        retry_settings=BatchRetrySettings(max_retries=4, timeout=90),
        environment_variables={"A": "1"},
        error_threshold=7,
        logging_level="debug",
    )
    settings = BatchSettings.from_properties(_wire(sent))
    assert settings == BatchSettings(
        mini_batch_size=5,
        instance_count=2,
        max_concurrency_per_instance=3,
        output_action="append_row",
        output_file_name="out.txt",
        max_retries=4,
        timeout=90.0,
        error_threshold=7,
        logging_level="debug",
        environment_variables={"A": "1"},
    )
    assert settings.workers == 6
    summary = _wire(SdkSettings(mini_batch_size=1, output_action="summary_only"))
    assert BatchSettings.from_properties(summary).output_action == "summary_only"


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"miniBatchSize": 0}, "mini_batch_size"),
        ({"errorThreshold": -2}, "error_threshold"),
        ({"outputAction": "Sometimes"}, "output_action"),
        ({"outputFileName": "a/b.csv"}, "output_file_name"),
        ({"retrySettings": {"timeout": "soon"}}, "retry_settings.timeout"),
        ({"retrySettings": {"maxRetries": "x"}}, "max_retries"),
        ({"loggingLevel": "loud"}, "logging_level"),
        ({"resources": {"instanceCount": 0}}, "instance_count"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(properties: dict[str, object], named: str) -> None:
    with pytest.raises(BadArgument, match=named):
        BatchSettings.from_properties(properties)


def test_iso_durations_are_seconds() -> None:
    assert parse_duration("PT30S") == 30
    assert parse_duration("PT1M30S") == 90
    assert parse_duration("P1DT1H") == 90000
    assert parse_duration(12) == 12

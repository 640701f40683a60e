"""What a batch job asks beyond its inputs: its ``score`` output's place and the deployment
settings it overrides, read from the ``invoke`` request's properties.

azure-ai-ml 1.35.2 builds that body with ``BatchJobSchema`` from ``outputs=``,
``params_override=``, ``job_name=`` and ``experiment_name=`` (measured with the real client,
see /work/shared/research/sdk-v2-wire.md, "Batch"): ``outputs={"score": Output(type, path)}``
is ``outputData: {"score": {"jobOutputType": "UriFolder" | "UriFile", "uri"}}``; the overrides
it knows are ``mini_batch_size`` → ``miniBatchSize``, ``output_file_name`` →
``outputFileName``, ``error_threshold`` → ``errorThreshold``, ``retry_settings.max_retries`` /
``.timeout`` → ``retrySettings: {"maxRetries", "timeout": "PT45S"}``,
``compute.instance_count`` → ``compute: {"isLocal": true, "instanceCount"}``; a v1
``output_dataset`` is ``outputDataset: {"datastoreId", "path"}``. Any other key the client
refuses itself (marshmallow's ``{'logging_level': ['Unknown field.']}``), so only a client
sending REST directly reaches the refusals here.

The overrides are kept in the deployment properties' wire names (``resources.instanceCount``
for the instance count), so that the settings a job runs with are the deployment's properties
with these laid over them, checked by the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from emulator.assets.datastore import DATASTORE_URI, DEFAULT_DATASTORE
from emulator.exceptions import BadArgument

#: The output a model deployment's job writes (Azure's name; the only one it has).
SCORE = "score"
#: The output name azure-ai-ml gives a v1 ``output_dataset`` that names its datastore by name.
V1_OUTPUT = "output_name"
URI_FOLDER, URI_FILE = "uri_folder", "uri_file"
_OUTPUT_KINDS = {"urifolder": URI_FOLDER, "urifile": URI_FILE}
#: The request properties azure-ai-ml's BatchJobSchema can send.
_KNOWN = frozenset(
    {
        "inputData",
        "outputData",
        "outputDataset",
        "compute",
        "retrySettings",
        "errorThreshold",
        "miniBatchSize",
        "outputFileName",
        "name",
        "properties",
        "dataset",
    }
)
_OVERRIDES = ("miniBatchSize", "outputFileName", "errorThreshold")
_OVERRIDABLE = (
    "mini_batch_size, output_file_name, error_threshold, retry_settings.max_retries, "
    "retry_settings.timeout, compute.instance_count"
)
_DATASTORE_ID = re.compile(r".*/datastores/(?P<name>[^/]+)/?", re.IGNORECASE)
#: ``azureml:<datastore>``: a datastore by name, with no path in it.
_SHORT_DATASTORE = re.compile(r"azureml:[A-Za-z0-9_]+")
_WORKSPACE_SCOPE = re.compile(
    r"azureml://subscriptions/[^/]+/resourcegroups/[^/]+/workspaces/"
    r"(?P<workspace>[^/]+)/datastores/",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class JobOutput:
    """Where the job's ``score`` output goes: a folder, or (``uri_file``) the output file
    itself, on the default datastore; ``uri`` as the client sent it."""

    kind: str
    uri: str
    #: The datastore path, without leading or trailing slash.
    path: str

    @property
    def file_name(self) -> str | None:
        """The output file's name a ``uri_file`` output imposes."""
        return PurePosixPath(self.path).name if self.kind == URI_FILE else None


@dataclass(frozen=True)
class BatchJobSpec:
    """A job's own settings: deployment-property overrides, its output, its experiment."""

    overrides: dict[str, Any] = field(default_factory=dict)
    output: JobOutput | None = None
    experiment: str | None = None

    def to_json(self) -> dict[str, Any]:
        output = self.output
        return {
            "overrides": self.overrides,
            "output": None
            if output is None
            else {"kind": output.kind, "uri": output.uri, "path": output.path},
            "experiment": self.experiment,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchJobSpec:
        output = data.get("output")
        return cls(
            overrides=dict(data.get("overrides") or {}),
            output=JobOutput(**output) if isinstance(output, dict) else None,
            experiment=data.get("experiment"),
        )


def parse(properties: dict[str, Any], workspace: str) -> BatchJobSpec:
    """The spec of the ``invoke`` request's ``properties`` for a job of workspace
    ``workspace``; :class:`BadArgument` naming a property or output the job cannot take."""
    unknown = sorted(set(properties) - _KNOWN)
    if unknown:
        raise _bad(
            f"The batch job's properties {', '.join(map(repr, unknown))} are unknown. A job "
            f"overrides only {_OVERRIDABLE} (azure-ai-ml refuses other params_override keys "
            "itself: 'Unknown field.'). Set the others on the deployment."
        )
    if properties.get("dataset") is not None:
        raise _bad(
            "The batch job names a v1 dataset ('dataset'); the emulator runs v2 inputs only. "
            "[emulator] Pass input=Input(type=..., path=...) to batch_endpoints.invoke."
        )
    overrides = {key: properties[key] for key in _OVERRIDES if properties.get(key) is not None}
    retry = properties.get("retrySettings")
    if retry is not None:
        if not isinstance(retry, dict):
            raise _bad("The batch job's retrySettings must be an object (maxRetries, timeout).")
        overrides["retrySettings"] = {k: v for k, v in retry.items() if v is not None}
    compute = properties.get("compute")
    if compute is not None:
        overrides.update(_compute(compute))
    experiment = (properties.get("properties") or {}).get("experimentName")
    return BatchJobSpec(overrides, _output(properties, workspace), experiment)


def _compute(compute: Any) -> dict[str, Any]:
    if not isinstance(compute, dict):
        raise _bad("The batch job's compute must be an object (instanceCount).")
    # isLocal: what BatchJobSchema always sends (True); the job runs on the deployment's.
    other = sorted(
        k for k, v in compute.items() if v is not None and k not in ("instanceCount", "isLocal")
    )
    if other:
        raise _bad(
            f"The batch job's compute sets {', '.join(map(repr, other))}: a job overrides only "
            "compute.instance_count. [emulator] The deployment's compute runs its jobs."
        )
    count = compute.get("instanceCount")
    return {} if count is None else {"resources": {"instanceCount": count}}


def _output(properties: dict[str, Any], workspace: str) -> JobOutput | None:
    outputs = properties.get("outputData")
    dataset = properties.get("outputDataset")
    if outputs is None and isinstance(dataset, dict):
        found = _DATASTORE_ID.fullmatch(str(dataset.get("datastoreId") or ""))
        if found is None:
            raise _bad("The batch job's outputDataset names no datastore (datastoreId).")
        path = str(dataset.get("path") or "").strip("/")
        uri = f"azureml://datastores/{found['name']}/paths/{path}/"
        outputs = {SCORE: {"jobOutputType": "UriFolder", "uri": uri}}
    if not outputs:
        return None
    if isinstance(outputs, dict) and set(outputs) == {V1_OUTPUT}:
        # azure-ai-ml's conversion of a v1 output_dataset naming a datastore by name
        # (convert_v1_dataset_to_v2): the job's one output, a uri_file at path/output file.
        outputs = {SCORE: outputs[V1_OUTPUT]}
    if not isinstance(outputs, dict) or set(outputs) != {SCORE}:
        names = ", ".join(map(repr, outputs)) if isinstance(outputs, dict) else repr(outputs)
        raise _bad(
            f"The batch job's outputs are {names}: a model deployment's job has one output, "
            f"'{SCORE}'. Pass outputs={{'{SCORE}': Output(type='uri_folder', path=...)}}."
        )
    return parse_output(SCORE, outputs[SCORE], workspace)


def parse_outputs(properties: dict[str, Any], workspace: str) -> dict[str, JobOutput]:
    """A pipeline job's ``outputData`` (``outputs={name: Output(path=...)}``): each output's
    place, by the rules of a model job's ``score`` output (a folder or file on the default
    datastore of ``workspace``)."""
    outputs = properties.get("outputData") or {}
    if not isinstance(outputs, dict):
        raise _bad("The batch job's outputData must be an object: output name -> Output.")
    return {str(name): parse_output(str(name), value, workspace) for name, value in outputs.items()}


def parse_output(name: str, output: Any, workspace: str) -> JobOutput:
    """Where the job's output ``name`` goes, from its ``{"jobOutputType", "uri"}``; refused
    (400, naming the fix) when it is not a folder or file on the workspace's default
    datastore."""
    if not isinstance(output, dict) or not output.get("uri"):
        raise _bad(f"The output '{name}' has no path. Pass Output(type=..., path=...).")
    spelled = str(output.get("jobOutputType") or "UriFolder").replace("_", "").casefold()
    kind = _OUTPUT_KINDS.get(spelled)
    if kind is None:
        raise _bad(
            f"The output '{name}' is of type {output.get('jobOutputType')!r}: a batch job "
            "writes its output to a uri_folder (the output file in it) or a uri_file."
        )
    uri = str(output["uri"])
    found = DATASTORE_URI.fullmatch(uri)
    if found is None:
        raise _bad(
            f"The output '{name}' path {uri!r} is not a datastore path: batch jobs write their "
            "output to a datastore. Give azureml://datastores/<datastore>/paths/<path>"
            + (
                f" (for the datastore itself: azureml://datastores/{uri[8:]}/paths/<folder>/)."
                if _SHORT_DATASTORE.fullmatch(uri)
                else "."
            )
        )
    scope = _WORKSPACE_SCOPE.match(uri)
    if scope is not None and scope["workspace"].casefold() != workspace.casefold():
        raise _bad(f"The output '{name}' path {uri!r} is in another workspace than {workspace}.")
    if found["datastore"].casefold() != DEFAULT_DATASTORE:
        raise BadArgument(
            f"Datastore '{found['datastore']}' of the output '{name}' ({uri}) does not exist in "
            f"workspace {workspace}. [emulator] Each workspace has the default datastore "
            f"'{DEFAULT_DATASTORE}' only: write the output there.",
            code="UserError",
        )
    path = found["path"].strip("/")
    if kind == URI_FILE and (not path or found["path"].endswith("/")):
        raise _bad(
            f"The uri_file output '{name}' path {uri!r} names a folder: end it with the output "
            "file's name (.../paths/results/predictions.csv), or declare it uri_folder."
        )
    return JobOutput(kind, uri, path)


def _bad(message: str) -> BadArgument:
    return BadArgument(message, code="UserError")

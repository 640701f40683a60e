"""``azureml.accel``: the accelerated-models (FPGA) faces, on the ONNX Runtime stand-in.

``AccelOnnxConverter.convert_tf_model`` converts a registered model in the background and
registers the result as ``<name>.<version>.accelonnx`` (as Azure's converter names it);
``AccelContainerImage.image_configuration()`` makes images (flavor ``AccelContainer``) that
serve that ONNX model. ``AccelInferenceConfig`` is the older one-call path: ``Model.deploy``
converts the model (or finds its converted version) and builds that image itself.
``PredictionClient`` and ``client_from_service`` are loaded on first use (they need
``grpcio``), so importing this module needs no optional dependency.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.environments.conda import CondaDependencies
from emulator.environments.environment import Environment
from emulator.images.context import ImageRequest
from emulator.models.records import ModelRecord
from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.image import Image, ImageConfig
from emulator.sdk.model import Model, resolve_models
from emulator.sdk.workspace import Workspace
from emulator.services.accelerated import ACCEL_FLAVOR

if TYPE_CHECKING:
    from emulator.sdk.prediction_client import PredictionClient, client_from_service

__all__ = [
    "AccelContainerImage",
    "AccelImageConfiguration",
    "AccelInferenceConfig",
    "AccelOnnxConverter",
    "ModelConvertOperation",
    "PredictionClient",
    "client_from_service",
]

#: What an accelerated image installs besides the emulator's own requirements.
ACCEL_PIP_PACKAGES = ("onnxruntime>=1.17", "numpy>=1.24", "grpcio>=1.60", "protobuf>=4.25")
_INSTALL_HINT = "pip install 'azureml-emulator[accel]'"


def __getattr__(name: str) -> Any:
    """``PredictionClient`` / ``client_from_service`` (:mod:`emulator.sdk.prediction_client`)."""
    if name in ("PredictionClient", "client_from_service"):
        try:
            from emulator.sdk import prediction_client as client
        except ImportError as exc:
            raise ImportError(
                f"azureml.accel.{name} needs grpcio and protobuf ({exc}); {_INSTALL_HINT}"
            ) from exc
        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def converted_model_name(name: str, version: int) -> str:
    """``<name>.<version>.accelonnx``, the name cut so the whole fits in 32 characters."""
    return f"{name[: 32 - (11 + len(str(version)))]}.{version}.accelonnx"


class ModelConvertOperation:
    """A running conversion; ``wait_for_completion()`` then ``result`` is the converted Model."""

    def __init__(self, workspace: Workspace, source: Model, run: Any) -> None:
        self.workspace = workspace
        self.source_model = source
        self.operation_id = str(uuid.uuid4())
        self.status = "Running"
        self.result: Model | None = None
        self.error: dict[str, str] | None = None
        self.report: str | None = None
        self._thread = threading.Thread(
            target=self._run, args=(run,), name=f"amlemu-convert-{self.operation_id[:8]}"
        )
        self._thread.start()

    def _run(self, run: Any) -> None:
        try:
            self.result, self.report = run()
        except Exception as exc:
            self.error = {"code": type(exc).__name__, "message": str(exc)}
            self.status = "Failed"
        else:
            self.status = "Succeeded"

    def wait_for_completion(self, show_output: bool = False) -> None:
        """Block until the conversion ends; a failed one raises with the converter's message."""
        if show_output:
            print(self.status, end="", flush=True)
        while self._thread.is_alive():
            self._thread.join(0.5)
            if show_output and self._thread.is_alive():
                print(".", end="", flush=True)
        if show_output:
            print(f"\n{self.status}")
            if self.report:
                print("\n".join(f"[emulator] {line}" for line in self.report.splitlines()))
        if self.status != "Succeeded":
            message = (self.error or {}).get("message", "unknown error")
            if show_output:
                print(f"Model convert failed with\nMessage: {message}")
            raise WebserviceException(
                f"Model conversion operation {self.operation_id} reached non-successful terminal "
                f"state, current state: {self.status}\nError:\n{message}"
            )

    def __repr__(self) -> str:
        return (
            f"ModelConvertOperation(operation_id={self.operation_id}, "
            f"source={self.source_model.id}, status={self.status})"
        )


class AccelOnnxConverter:
    """Converts registered models to the ONNX the accelerated stand-in serves."""

    @staticmethod
    def convert_tf_model(
        workspace: Workspace,
        source_model: Model | str,
        input_node: str | Sequence[str],
        outputs_nodes: str | Sequence[str],
        require_fpga_conversion: bool = True,
        precision: str = "exact",
    ) -> ModelConvertOperation:
        """Start converting ``source_model`` (TensorFlow with ``tf2onnx``, scikit-learn, or
        ONNX) between the named nodes; ``precision`` (emulator): ``exact``, ``int8``, ``bfp``."""
        if not isinstance(workspace, Workspace):
            raise WebserviceException("Error, workspace must be a Workspace object.")
        model = (
            source_model if isinstance(source_model, Model) else Model(workspace, id=source_model)
        )
        from emulator.accel.precision import check_precision

        try:
            check_precision(precision)
        except ValueError as exc:
            raise WebserviceException(str(exc)) from exc
        options = {
            "input_node_names": _joined(input_node),
            "output_node_names": _joined(outputs_nodes),
            "require_fpga_conversion": str(require_fpga_conversion),
        }

        def run() -> tuple[Model, str]:
            return _convert_and_register(workspace, model, options, precision)

        return ModelConvertOperation(workspace, model, run)


def _joined(nodes: str | Sequence[str]) -> str:
    return nodes if isinstance(nodes, str) else ",".join(nodes)


def _convert_and_register(
    workspace: Workspace, model: Model, options: dict[str, str], precision: str
) -> tuple[Model, str]:
    from emulator.accel.converter import convert

    registry = workspace.emulator_state.models
    with tempfile.TemporaryDirectory(prefix="amlemu-convert-") as tmp:
        source = registry.materialize(model._record, Path(tmp) / "source")
        result = convert(
            source,
            options["input_node_names"] or None,
            options["output_node_names"] or None,
            precision=precision,
        )
        target = Path(tmp) / "converted"
        target.mkdir()
        path = result.save(target / f"{model.name}.onnx")
        properties = {
            **result.properties(),
            "sourceModelId": model.id,
            "compileOptions.require_fpga_conversion": options["require_fpga_conversion"],
        }
        record = registry.register(
            path,
            converted_model_name(model.name, model.version),
            tags={"parentModelId": model.id},
            properties=properties,
            description=f"{model.id} converted to ONNX for the accelerated stand-in",
            framework=Model.Framework.ONNX,
        )
    return Model._from_record(workspace, record), result.summary()


class AccelImageConfiguration(ImageConfig):
    """Configuration of an accelerated image (``imageFlavor`` ``AccelContainer``)."""

    image_flavor = ACCEL_FLAVOR

    def __init__(
        self,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
    ) -> None:
        self.tags = tags
        self.properties = properties
        self.description = description

    def _image_request(self, name: str, models: tuple[ModelRecord, ...]) -> ImageRequest:
        if not models:
            raise ValueError("Cannot create accelcontainer image without model")
        for record in models:
            if not any(f.path.lower().endswith(".onnx") for f in record.files):
                raise WebserviceException(
                    f"Model {record.model_id} has no .onnx file; an accelerated image serves "
                    "converted models. [emulator] Convert it first: "
                    "AccelOnnxConverter.convert_tf_model(ws, model, input_node, outputs_nodes)"
                    ".wait_for_completion(), then pass the operation's result."
                )
        from emulator.accel import score_onnx

        return ImageRequest(
            entry_script=Path(score_onnx.__file__),
            environment=accel_environment(f"{name}-accel-env"),
            models=models,
        )

    def __repr__(self) -> str:
        return (
            f"AccelImageConfiguration(tags={self.tags}, properties={self.properties}, "
            f"description={self.description})"
        )


def accel_environment(name: str) -> Environment:
    """The environment accelerated images run in: ONNX Runtime, gRPC and protobuf."""
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=ACCEL_PIP_PACKAGES)
    return env


class AccelContainerImage(Image):
    """An image serving a converted model on the (emulated) FPGA, over gRPC and ``/score``."""

    @staticmethod
    def image_configuration(
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
        description: str | None = None,
    ) -> AccelImageConfiguration:
        return AccelImageConfiguration(tags=tags, properties=properties, description=description)

    def run(self, input_data: Any = None) -> Any:
        raise NotImplementedError("Can't run accel images locally.")


class AccelInferenceConfig:
    """``Model.deploy``'s configuration for one accelerated model: a model that is not already
    a converted one is replaced by its ``<name>.<version>.accelonnx`` conversion, found in the
    workspace or made now between ``input_tensor`` and ``output_tensor``; the service runs an
    ``AccelContainer`` image of it."""

    def __init__(
        self,
        description: str | None = None,
        input_tensor: str | None = None,
        output_tensor: str | None = None,
    ) -> None:
        self.description = description
        self.input_tensor = input_tensor
        self.output_tensor = output_tensor

    def _image(self, workspace: Workspace, name: str, models: Sequence[Any]) -> Image:
        """Start building the service's image (``Model.deploy`` waits for it as for others)."""
        records = resolve_models(workspace, models)
        if len(records) != 1:
            raise WebserviceException("Can only deploy accelerated inference with a single model.")
        model = Model._from_record(workspace, records[0])
        if "parentModelId" not in model.tags:
            model = self._converted(workspace, model)
        config = AccelContainerImage.image_configuration(description=self.description)
        return Image.create(workspace, name, [model], config)

    def _converted(self, workspace: Workspace, model: Model) -> Model:
        found = Model.list(workspace, name=converted_model_name(model.name, model.version))
        if found:  # as Azure does: the name alone identifies the conversion
            return max(found, key=lambda m: m.version)
        operation = AccelOnnxConverter.convert_tf_model(
            workspace, model, self.input_tensor or "", self.output_tensor or ""
        )
        operation.wait_for_completion()
        assert operation.result is not None
        return operation.result

    def __repr__(self) -> str:
        return (
            f"AccelInferenceConfig(description={self.description!r}, "
            f"input_tensor={self.input_tensor!r}, output_tensor={self.output_tensor!r})"
        )

"""A Triton model repository loaded into ONNX Runtime, checked as Triton checks it at load.

Layout (Triton's): ``<repository>/<model>/config.pbtxt`` and ``<repository>/<model>/<version>/
<default_model_filename, model.onnx by default>``; numeric version folders, the highest one
served (Triton's default version policy, ``latest { num_versions: 1 }``). A model whose
config names another backend (``platform: "tensorflow_savedmodel"``, ``backend: "python"``...)
is refused: only ONNX Runtime runs here. The config's inputs and outputs must be the graph's
(names, data types, ranks and fixed dims), or the load fails naming the mismatch, as Triton's
ONNX Runtime backend refuses such a config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emulator.server.triton.config import ConfigError, ModelConfig, TensorConfig, load_config
from emulator.server.triton.tensors import ProtocolError

#: ONNX Runtime's element type names (``tensor(float)``) as the protocol's data types.
_ORT_TYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
}


class RepositoryError(ValueError):
    """A repository Triton would not load: the message names the model and the fault."""


@dataclass
class LoadedModel:
    """One model of the repository: its config, served version and ONNX Runtime session."""

    config: ModelConfig
    version: str
    versions: tuple[str, ...]
    session: Any

    def metadata(self) -> dict[str, Any]:
        """``GET /v2/models/<name>``'s body."""

        def tensors(specs: tuple[TensorConfig, ...]) -> list[dict[str, Any]]:
            return [
                {"name": t.name, "datatype": t.datatype, "shape": list(self.config.shape_of(t))}
                for t in specs
            ]

        return {
            "name": self.config.name,
            "versions": list(self.versions),
            "platform": self.config.platform or ONNX_PLATFORM_NAME,
            "inputs": tensors(self.config.inputs),
            "outputs": tensors(self.config.outputs),
        }

    def infer(self, inputs: dict[str, tuple[str, np.ndarray]]) -> dict[str, tuple[str, np.ndarray]]:
        """The outputs of ``inputs`` (checked first, with Triton's messages)."""
        self.check(inputs)
        feed = {name: _runtime_array(name, d, array) for name, (d, array) in inputs.items()}
        names = [t.name for t in self.config.outputs]
        try:
            results = self.session.run(names, feed)
        except Exception as exc:  # ONNX Runtime's own failure: Triton answers it as a 400
            raise ProtocolError(f"onnx runtime error {exc}") from None
        return {
            spec.name: (spec.datatype, np.asarray(result))
            for spec, result in zip(self.config.outputs, results, strict=True)
        }

    def check(self, inputs: dict[str, tuple[str, np.ndarray]]) -> None:
        """Triton's checks of a request's inputs against the config (its core's texts)."""
        config = self.config
        expected = {t.name: t for t in config.inputs}
        for name in inputs:
            if name not in expected:
                raise ProtocolError(
                    f"unexpected inference input '{name}' for model '{config.name}'"
                )
        if len(inputs) != len(expected):
            missing = [n for n in expected if n not in inputs]
            raise ProtocolError(
                f"expected {len(expected)} inputs but got {len(inputs)} inputs for model "
                f"'{config.name}'. Got input(s) {list(inputs)}, but missing required input(s) "
                f"{missing}. Please provide all required input(s)."
            )
        batch: int | None = None
        for name, (datatype, array) in inputs.items():
            spec = expected[name]
            if datatype != spec.datatype:
                raise ProtocolError(
                    f"inference input '{name}' data-type is '{datatype}', but model "
                    f"'{config.name}' expects '{spec.datatype}'"
                )
            shape = tuple(array.shape)
            wanted = config.shape_of(spec)
            if config.max_batch_size > 0 and shape:
                if shape[0] > config.max_batch_size:
                    raise ProtocolError(
                        f"inference request batch-size must be <= {config.max_batch_size} for "
                        f"'{config.name}'"
                    )
                if batch is not None and shape[0] != batch:
                    raise ProtocolError(
                        f"input '{name}' batch size does not match other inputs for '{config.name}'"
                    )
                batch = shape[0]
            if len(shape) != len(wanted) or any(
                w != -1 and w != s for w, s in zip(wanted, shape, strict=True)
            ):
                raise ProtocolError(
                    f"unexpected shape for input '{name}' for model '{config.name}'. Expected "
                    f"{_dims(wanted)}, got {_dims(shape)}"
                )


def _runtime_array(name: str, datatype: str, array: np.ndarray) -> np.ndarray:
    """``array`` as ONNX Runtime takes it: BYTES elements as text (its string tensors hold
    UTF-8; it would turn ``bytes`` into their ``repr``)."""
    if datatype != "BYTES":
        return array
    try:
        texts = [item.decode("utf-8") for item in array.reshape(-1)]
    except UnicodeDecodeError:
        raise ProtocolError(
            f"input '{name}': BYTES elements must be UTF-8 text for an ONNX string tensor"
        ) from None
    return np.array(texts, dtype=np.object_).reshape(array.shape)


#: What the metadata says of a model whose config named its backend rather than its platform.
ONNX_PLATFORM_NAME = "onnxruntime_onnx"


def _dims(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def load_repository(repository: Path) -> dict[str, LoadedModel]:
    """Every model under ``repository`` loaded (name → model). :class:`RepositoryError` for a
    repository Triton would not serve: none, a non-ONNX backend, a missing version or file, a
    config that does not match its graph."""
    if not repository.is_dir():
        raise RepositoryError(f"the model repository '{repository.name}' is not a folder")
    models: dict[str, LoadedModel] = {}
    for folder in sorted(p for p in repository.iterdir() if p.is_dir()):
        config_file = folder / "config.pbtxt"
        if not config_file.is_file():
            continue
        models[folder.name] = _load_model(folder, config_file)
    if not models:
        raise RepositoryError(
            f"the model repository '{repository.name}' has no model: Triton expects "
            "<repository>/<model>/config.pbtxt with <repository>/<model>/<version>/model.onnx"
        )
    return models


def _load_model(folder: Path, config_file: Path) -> LoadedModel:
    name = folder.name
    try:
        config = load_config(config_file.read_text(encoding="utf-8"), name)
    except ConfigError as exc:
        raise RepositoryError(f"failed to load '{name}': config.pbtxt: {exc}") from None
    if not config.is_onnx:
        raise RepositoryError(
            f"failed to load '{name}': its config.pbtxt names {config.served_by}, which the "
            "emulator cannot serve. [emulator] Only ONNX models are served (platform: "
            '"onnxruntime_onnx" or backend: "onnxruntime"): export the model to ONNX.'
        )
    versions = sorted(
        (p.name for p in folder.iterdir() if p.is_dir() and p.name.isdigit()), key=int
    )
    if not versions:
        raise RepositoryError(
            f"failed to load '{name}': at least one version must be available under the version "
            f"policy of model '{name}' (no numeric version folder next to config.pbtxt)"
        )
    version = versions[-1]
    model_file = folder / version / config.default_model_filename
    if not model_file.is_file():
        raise RepositoryError(
            f"failed to load '{name}' version {version}: unable to find '{model_file.name}' in "
            f"'{name}/{version}'"
        )
    import onnxruntime as ort  # the serving dependency: loaded only when a model is

    try:
        session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    except Exception as exc:  # ONNX Runtime's load errors have no common base
        raise RepositoryError(f"failed to load '{name}' version {version}: {exc}") from None
    _match(config, "input", config.inputs, session.get_inputs())
    _match(config, "output", config.outputs, session.get_outputs())
    return LoadedModel(config, version, tuple(versions), session)


def _match(
    config: ModelConfig, kind: str, specs: tuple[TensorConfig, ...], graph: list[Any]
) -> None:
    """The config's tensors against the graph's (Triton's ONNX Runtime backend refuses a
    config naming a tensor the model lacks, or with another type or shape)."""
    by_name = {arg.name: arg for arg in graph}
    if kind == "input" and len(specs) != len(by_name):
        raise RepositoryError(
            f"failed to load '{config.name}': unable to load model '{config.name}', configuration "
            f"expects {len(specs)} inputs, model provides {len(by_name)} "
            f"({', '.join(by_name)})"
        )
    for spec in specs:
        arg = by_name.get(spec.name)
        if arg is None:
            raise RepositoryError(
                f"failed to load '{config.name}': unexpected {kind} '{spec.name}' in model "
                f"configuration, the model provides {kind}s {', '.join(sorted(by_name))}"
            )
        element = str(arg.type).removeprefix("tensor(").removesuffix(")")
        actual = _ORT_TYPES.get(element, element)
        if actual != spec.datatype:
            raise RepositoryError(
                f"failed to load '{config.name}': unable to load model '{config.name}', "
                f"configuration expects datatype TYPE_{_type_name(spec.datatype)} for {kind} "
                f"'{spec.name}', model provides TYPE_{_type_name(actual)}"
            )
        graph_dims = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape or ())
        wanted = config.shape_of(spec)
        if len(graph_dims) != len(wanted) or any(
            g != -1 and w != -1 and g != w for g, w in zip(graph_dims, wanted, strict=True)
        ):
            raise RepositoryError(
                f"failed to load '{config.name}': model '{config.name}', tensor '{spec.name}': "
                f"the model expects {len(graph_dims)} dimensions (shape {_dims(graph_dims)}) but "
                f"the model configuration specifies {len(wanted)} dimensions "
                f"(shape {_dims(wanted)})"
            )


def _type_name(datatype: str) -> str:
    return "STRING" if datatype == "BYTES" else datatype

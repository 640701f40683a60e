"""Tensors of the V2 inference protocol: a request's inputs decoded to NumPy arrays and the
model's outputs encoded, as JSON ``data`` or with Triton's binary tensor extension.

The binary extension (what ``tritonclient`` uses by default): the body is the JSON header,
``Inference-Header-Content-Length`` bytes long, followed by the raw tensors in the order of the
inputs whose ``parameters.binary_data_size`` says how many bytes each takes (little-endian,
row-major; BYTES elements each prefixed by their 4-byte length). Outputs come back the same
way when an output asks ``binary_data: true`` or the request ``binary_data_output: true``.
Error texts are Triton's (its HTTP server's and core's messages for the same faults).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The protocol's data types as NumPy types (BYTES: Python objects holding ``bytes``).
NUMPY_TYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
#: The header naming the JSON part's length in a binary request or answer.
HEADER_LENGTH = "Inference-Header-Content-Length"


class ProtocolError(Exception):
    """A request Triton refuses: ``status`` and the message of its ``{"error": ...}`` body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class InferRequest:
    """A decoded ``/infer`` request: its id, input arrays by name (in request order) with the
    datatype the client declared, and the outputs asked for (name → binary?)."""

    id: str | None
    inputs: dict[str, tuple[str, np.ndarray]]
    outputs: dict[str, bool]
    binary_default: bool


def decode_request(body: bytes, header_length: str | None) -> InferRequest:
    """The request of ``body``; ``header_length`` is :data:`HEADER_LENGTH`'s value (``None``:
    the body is all JSON)."""
    if header_length is not None:
        try:
            size = int(header_length)
        except ValueError:
            raise ProtocolError(
                f"Unable to parse inference header size, got: {header_length}"
            ) from None
        if not 0 <= size <= len(body):
            raise ProtocolError(
                f"Inference header size {size} is larger than the request body ({len(body)} bytes)"
            )
        header, binary = body[:size], body[size:]
    else:
        header, binary = body, b""
    try:
        document = json.loads(header or b"null")
    except ValueError as exc:
        raise ProtocolError(f"failed to parse the request JSON buffer: {exc}") from None
    if not isinstance(document, dict):
        raise ProtocolError("failed to parse the request JSON buffer: expected an object")
    raw_inputs = document.get("inputs")
    if not isinstance(raw_inputs, list):
        raise ProtocolError("Unable to find 'inputs' in the request JSON")
    parameters = document.get("parameters") or {}
    offset = 0
    inputs: dict[str, tuple[str, np.ndarray]] = {}
    for raw in raw_inputs:
        name, datatype, array, used = _input(raw, binary, offset)
        offset += used
        inputs[name] = (datatype, array)
    if offset != len(binary):
        raise ProtocolError(
            f"unexpected additional input data ({len(binary) - offset} bytes) after the binary "
            "tensors the inputs name"
        )
    binary_default = bool(parameters.get("binary_data_output", False))
    outputs: dict[str, bool] = {}
    for raw in document.get("outputs") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ProtocolError("Unable to parse 'outputs': each output needs a 'name'")
        asked = (raw.get("parameters") or {}).get("binary_data", binary_default)
        outputs[raw["name"]] = bool(asked)
    request_id = document.get("id")
    return InferRequest(
        None if request_id is None else str(request_id), inputs, outputs, binary_default
    )


def _input(raw: Any, binary: bytes, offset: int) -> tuple[str, str, np.ndarray, int]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ProtocolError("Unable to parse 'inputs': each input needs a 'name'")
    name = raw["name"]
    datatype = raw.get("datatype")
    shape = raw.get("shape")
    if datatype not in NUMPY_TYPES:
        raise ProtocolError(f"invalid datatype for input '{name}': {datatype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ProtocolError(f"Unable to parse 'shape' of input '{name}': {shape!r}")
    size = (raw.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise ProtocolError(
                f"unexpected size for input '{name}', expecting {size} additional bytes"
            )
        return (
            name,
            datatype,
            _from_binary(name, datatype, shape, binary[offset : offset + size]),
            size,
        )
    if "data" not in raw:
        raise ProtocolError(f"input '{name}' must have a 'data' field or binary_data_size")
    return name, datatype, _from_json(name, datatype, shape, raw["data"]), 0


def _count(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count


def _from_binary(name: str, datatype: str, shape: list[int], raw: bytes) -> np.ndarray:
    if datatype == "BYTES":
        items: list[bytes] = []
        position = 0
        while position < len(raw):
            if position + 4 > len(raw):
                raise ProtocolError(f"unexpected end of the BYTES data of input '{name}'")
            (length,) = struct.unpack_from("<I", raw, position)
            items.append(raw[position + 4 : position + 4 + length])
            position += 4 + length
        if len(items) != _count(shape) or position != len(raw):
            raise ProtocolError(
                f"unexpected number of string elements {len(items)} for inference input "
                f"'{name}', expecting {_count(shape)}"
            )
        return np.array(items, dtype=np.object_).reshape(shape)
    dtype = np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")
    expected = _count(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ProtocolError(
            f"unexpected total byte size {len(raw)} for input '{name}', expecting {expected}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _from_json(name: str, datatype: str, shape: list[int], data: Any) -> np.ndarray:
    flat = _flatten(data)
    if len(flat) != _count(shape):
        raise ProtocolError(
            f"Unable to parse 'data': Shape does not match true shape of 'data' field "
            f"(input '{name}': shape {shape} has {_count(shape)} elements, 'data' has {len(flat)})"
        )
    if datatype == "BYTES":
        items = [v.encode() if isinstance(v, str) else v for v in flat]
        if not all(isinstance(v, bytes) for v in items):
            raise ProtocolError(f"Unable to parse 'data': expected strings for input '{name}'")
        return np.array(items, dtype=np.object_).reshape(shape)
    wanted = bool if datatype == "BOOL" else float if datatype.startswith("FP") else int
    for value in flat:
        if isinstance(value, bool) is not (wanted is bool) or not isinstance(value, (int, float)):
            raise ProtocolError(
                f"Unable to parse 'data': expected {datatype} values for input '{name}', "
                f"got {value!r}"
            )
        if wanted is int and isinstance(value, float):
            raise ProtocolError(
                f"Unable to parse 'data': expected {datatype} values for input '{name}', "
                f"got {value!r}"
            )
    return np.array(flat, dtype=NUMPY_TYPES[datatype]).reshape(shape)


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [item for element in data for item in _flatten(element)]
    return [data]


def encode_response(
    model: str,
    version: str,
    request: InferRequest,
    outputs: dict[str, tuple[str, np.ndarray]],
) -> tuple[list[tuple[str, str]], bytes]:
    """The answer's headers and body: each output in JSON ``data`` or, when asked, binary
    after the JSON header (with :data:`HEADER_LENGTH` set)."""
    entries: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, (datatype, array) in outputs.items():
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.outputs.get(name, request.binary_default):
            raw = _to_binary(datatype, array)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = _to_json(datatype, array)
        entries.append(entry)
    document: dict[str, Any] = {"model_name": model, "model_version": version}
    if request.id is not None:
        document["id"] = request.id
    document["outputs"] = entries
    header = json.dumps(document, separators=(",", ":")).encode()
    if not chunks:
        return [("Content-Type", "application/json")], header
    headers = [("Content-Type", "application/octet-stream"), (HEADER_LENGTH, str(len(header)))]
    return headers, header + b"".join(chunks)


def _to_binary(datatype: str, array: np.ndarray) -> bytes:
    if datatype == "BYTES":
        parts = []
        for item in array.reshape(-1):
            value = item if isinstance(item, bytes) else str(item).encode()
            parts.append(struct.pack("<I", len(value)) + value)
        return b"".join(parts)
    dtype = np.dtype(NUMPY_TYPES[datatype]).newbyteorder("<")
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def _to_json(datatype: str, array: np.ndarray) -> list[Any]:
    flat = array.reshape(-1)
    if datatype == "BYTES":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat]
    return [v for v in flat.tolist()]

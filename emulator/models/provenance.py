"""Which library versions produced a model file, read without loading (unpickling) it.

Pickles made by scikit-learn carry ``_sklearn_version`` in each estimator's state; ONNX files
carry their producer and opset in the protobuf header. numpy does not record its version in a
pickle, so when a pickle references numpy the registering process's numpy version is recorded
as the best available guess. Later stages compare these with the scoring environment.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

_SCAN_BYTES = 64 * 1024 * 1024
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".sav", ".pck"}
# "_sklearn_version", an optional MEMOIZE, then SHORT_BINUNICODE <len> <text> or BINUNICODE.
_SKLEARN_VERSION = re.compile(rb"_sklearn_version(?:\x94)?(?:\x8c(.)|X(....))", re.DOTALL)


def library_versions(paths: Iterable[Path]) -> dict[str, str]:
    """Versions known for the files of one model, e.g. ``{"scikit-learn": "1.5.2"}``."""
    found: dict[str, str] = {}
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in _PICKLE_SUFFIXES:
            found.update(_pickle_versions(_read_pickle_bytes(path)))
        elif suffix == ".onnx":
            found.update(_onnx_versions(path))
    return found


def _read_pickle_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(_SCAN_BYTES)
    if data[:1] == b"x":  # joblib's zlib compression
        try:
            return zlib.decompressobj().decompress(data, _SCAN_BYTES)
        except zlib.error:
            return data
    return data


def _pickle_versions(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    match = _SKLEARN_VERSION.search(data)
    if match:
        if match.group(1) is not None:
            start, length = match.end(), match.group(1)[0]
        else:
            start, length = match.end(), int.from_bytes(match.group(2), "little")
        found["scikit-learn"] = data[start : start + length].decode("utf-8", "replace")
    if b"numpy" in data:
        installed = _installed("numpy")
        if installed:
            found["numpy"] = installed
    return found


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _onnx_versions(path: Path) -> dict[str, str]:
    """ModelProto fields: ir_version(1), producer_name(2), producer_version(3), opset(8)."""
    found: dict[str, str] = {}
    try:
        fields = _protobuf_fields(path.read_bytes()[:_SCAN_BYTES])
    except (ValueError, IndexError):
        return found
    if 1 in fields:
        found["onnx_ir_version"] = str(fields[1][0])
    producer = fields.get(2, [b""])[0]
    version = fields.get(3, [b""])[0]
    if isinstance(producer, bytes) and producer:
        found["onnx_producer"] = producer.decode("utf-8", "replace")
        if isinstance(version, bytes) and version:
            found["onnx_producer"] += " " + version.decode("utf-8", "replace")
    for opset in fields.get(8, []):
        if isinstance(opset, bytes):
            sub = _protobuf_fields(opset)
            domain = sub.get(1, [b""])[0]
            if not domain and 2 in sub:
                found["onnx_opset"] = str(sub[2][0])
    return found


def _protobuf_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Decode one level of protobuf wire format (varint and length-delimited fields only)."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7

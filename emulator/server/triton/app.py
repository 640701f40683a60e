"""The V2 HTTP routes a Triton deployment answers, over a loaded repository.

``GET /v2`` (server metadata), ``/v2/health/live``, ``/v2/health/ready``,
``/v2/models/<name>[/versions/<v>]`` (model metadata), ``.../ready``, and ``POST .../infer``.
Errors are Triton's: ``{"error": "<message>"}`` with 400 for a bad request, 404 for an unknown
model or route (Triton's HTTP server maps its core's NOT_FOUND to 404), 405 for a wrong
method. Bodies compressed with ``Content-Encoding: gzip`` or ``deflate`` (zlib), what
``tritonclient``'s ``request_compression_algorithm`` sends, are inflated, and an ``/infer``
answer is compressed as ``Accept-Encoding`` asks (its ``response_compression_algorithm``), as
Triton does. The server is a plain callable (method, path, headers, body → status, headers,
body) so the endpoint front end can answer with it in-process.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Mapping
from pathlib import Path

from emulator.server.triton.repository import LoadedModel, load_repository
from emulator.server.triton.tensors import (
    HEADER_LENGTH,
    ProtocolError,
    decode_request,
    encode_response,
)

#: The Triton release whose protocol and texts are followed (``GET /v2``'s ``version``).
TRITON_VERSION = "2.41.0"
#: The protocol extensions answered here (a subset of Triton's list: no shared memory, no
#: repository control, no statistics or tracing).
EXTENSIONS = ("binary_tensor_data",)

_MODEL_ROUTE = re.compile(
    r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<rest>/.*)?"
)

#: An answer: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]


class TritonServer:
    """The routes over the models of one repository (loaded at construction: a repository
    Triton would refuse raises :class:`~.repository.RepositoryError` here)."""

    def __init__(self, repository: Path) -> None:
        self.models: dict[str, LoadedModel] = load_repository(repository)
        #: What Triton logs at startup, in its words: each model loaded, then its model table.
        self.log_lines = [
            f"successfully loaded '{name}' version {model.version}"
            for name, model in self.models.items()
        ]
        width = max(len(name) for name in self.models)
        self.log_lines += [
            f"| {'Model'.ljust(width)} | Version | Status |",
            *(
                f"| {n.ljust(width)} | {m.version.ljust(7)} | READY  |"
                for n, m in self.models.items()
            ),
        ]

    def __call__(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            return self._route(method.upper(), path.rstrip("/") or "/", headers, body)
        except ProtocolError as exc:
            return _error(exc.status, exc.message)

    def _route(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if path in ("/v2", "/v2/health/live", "/v2/health/ready"):
            _only(method, "GET")
            if path == "/v2":
                metadata = {
                    "name": "triton",
                    "version": TRITON_VERSION,
                    "extensions": list(EXTENSIONS),
                }
                return _json(200, metadata)
            return 200, [], b""
        found = _MODEL_ROUTE.fullmatch(path)
        if found is None:
            return _error(404, "Not Found")
        model = self._model(found["name"], found["version"])
        rest = found["rest"] or ""
        if rest == "":
            _only(method, "GET")
            return _json(200, model.metadata())
        if rest == "/ready":
            _only(method, "GET")
            return 200, [], b""
        if rest == "/config":
            _only(method, "GET")
            return _json(200, _config(model))
        if rest == "/infer":
            _only(method, "POST")
            body = _inflate(body, _header(headers, "Content-Encoding"))
            request = decode_request(body, _header(headers, HEADER_LENGTH))
            for name in request.outputs:
                if name not in {t.name for t in model.config.outputs}:
                    raise ProtocolError(
                        f"unexpected inference output '{name}' for model '{model.config.name}'"
                    )
            outputs = model.infer(request.inputs)
            if request.outputs:
                outputs = {name: outputs[name] for name in request.outputs}
            answer_headers, answer = encode_response(
                model.config.name, model.version, request, outputs
            )
            return _compressed(answer_headers, answer, _header(headers, "Accept-Encoding"))
        return _error(404, "Not Found")

    def _model(self, name: str, version: str | None) -> LoadedModel:
        model = self.models.get(name)
        if model is None:
            raise ProtocolError(f"Request for unknown model: '{name}' is not found", 404)
        if version not in (None, "", model.version):
            raise ProtocolError(
                f"Request for unknown model: '{name}' version {version} is not found", 404
            )
        return model


def _config(model: LoadedModel) -> dict[str, object]:
    """``GET .../config``: the fields of the model's configuration that were read."""
    config = model.config

    def tensors(kind: str) -> list[dict[str, object]]:
        specs = config.inputs if kind == "input" else config.outputs
        return [
            {
                "name": t.name,
                "data_type": "TYPE_STRING" if t.datatype == "BYTES" else f"TYPE_{t.datatype}",
                "dims": list(t.dims),
            }
            for t in specs
        ]

    return {
        "name": config.name,
        "platform": config.platform or "onnxruntime_onnx",
        "backend": config.backend or "onnxruntime",
        "max_batch_size": config.max_batch_size,
        "input": tensors("input"),
        "output": tensors("output"),
        "default_model_filename": config.default_model_filename,
    }


def _inflate(body: bytes, encoding: str | None) -> bytes:
    """The request body as sent before ``Content-Encoding`` compressed it."""
    kind = (encoding or "identity").strip().lower()
    try:
        if kind == "gzip":
            return gzip.decompress(body)
        if kind == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error, EOFError) as exc:
        raise ProtocolError(f"failed to decompress the request body ({kind}): {exc}") from None
    if kind != "identity":
        raise ProtocolError(f"unsupported Content-Encoding '{encoding}'")
    return body


def _compressed(headers: list[tuple[str, str]], body: bytes, accepted: str | None) -> Answer:
    """The answer compressed with the first of gzip / deflate that ``Accept-Encoding`` names."""
    wanted = [part.split(";")[0].strip().lower() for part in (accepted or "").split(",")]
    for kind, compress in (("gzip", gzip.compress), ("deflate", zlib.compress)):
        if kind in wanted:
            return 200, [*headers, ("Content-Encoding", kind)], compress(body)
    return 200, headers, body


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise ProtocolError("Method Not Allowed", 405)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _json(status: int, document: object) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()


def _error(status: int, message: str) -> Answer:
    return _json(status, {"error": message})

"""The accelerated service's gRPC endpoint: TF-Serving's ``PredictionService/Predict`` over
ONNX Runtime, several named models behind one port.

One ``PredictionServer`` plays the emulated AKS cluster's gRPC gateway: ``add_service(name,
model, auth_check)`` puts a model behind the route ``/api/v1/service/<name>`` (the
``x-ms-aml-grpc-service-route`` header). Without that header a request goes to the service its
``model_spec.name`` names, or to the only service there is (so a plain TF-Serving client works
against a single model). It listens on 127.0.0.1 and a free port chosen by the OS.

Status codes: ``INVALID_ARGUMENT`` for inputs that do not fit (names, dtypes, shapes — the
message lists what the model takes), ``UNAUTHENTICATED`` for a missing or wrong token,
``NOT_FOUND`` for an unknown service, ``UNAVAILABLE`` while a service's ``available`` check
says it cannot serve (an emulated service with no ready replica), ``INTERNAL`` for a failure
inside the model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
import onnxruntime as ort

from emulator.accel import names, routing, tensors
from emulator.accel.proto import predict_pb2, prediction_service_pb2_grpc
from emulator.accel.routing import AuthCheck
from emulator.accel.session import InputError, OnnxModel, OutputError

_UNLIMITED = -1
_SERVER_OPTIONS = [
    ("grpc.so_reuseport", 0),  # port 0 must give this server a port of its own
    ("grpc.optimization_target", "latency"),
    ("grpc.max_receive_message_length", _UNLIMITED),
    ("grpc.max_send_message_length", _UNLIMITED),
]

ModelLike: TypeAlias = OnnxModel | ort.InferenceSession | bytes | str | os.PathLike[str] | Any


@dataclass(frozen=True)
class HostedService:
    """A model behind a route, with its authorization rule (None: no auth)."""

    name: str
    model: OnnxModel
    auth_check: AuthCheck | None = None
    #: None when the service may answer now, else why not (answered ``UNAVAILABLE``).
    available: Callable[[], str | None] | None = None

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``authorization`` header/metadata value lets a request through."""
        if self.auth_check is None:
            return True
        return self.auth_check(routing.bearer_token(authorization))


class PredictionServer:
    """A gRPC server hosting named ONNX models; ``start()`` returns the port it listens on."""

    def __init__(self, host: str = "127.0.0.1", max_workers: int = 8) -> None:
        self.host = host
        self._services: dict[str, HostedService] = {}
        self._lock = threading.Lock()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="amlemu-grpc"),
            options=_SERVER_OPTIONS,
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _Servicer(self), self._server
        )
        self.port = 0
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> int:
        """Bind ``host`` on a free port and serve; returns the port."""
        if not self._started:
            self.port = self._server.add_insecure_port(f"{self.host}:0")
            if not self.port:
                raise OSError(f"could not bind a gRPC port on {self.host}")
            self._server.start()
            self._started = True
        return self.port

    @property
    def target(self) -> str:
        """``host:port`` to dial."""
        return f"{self.host}:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        if self._started:
            self._server.stop(grace).wait()
            self._started = False

    def __enter__(self) -> PredictionServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- services --------------------------------------------------------------------------------

    def add_service(
        self,
        name: str,
        session: ModelLike,
        auth_check: AuthCheck | None = None,
        available: Callable[[], str | None] | None = None,
    ) -> HostedService:
        """Serve ``session`` (an InferenceSession, OnnxModel, ONNX path/bytes/ModelProto) as
        ``name``; replaces a service of that name. ``auth_check`` gets the bearer token;
        ``available`` (checked after auth) returns why the service cannot answer, or None."""
        model = session if isinstance(session, OnnxModel) else _as_model(session)
        hosted = HostedService(name, model, auth_check, available)
        with self._lock:
            self._services = {**self._services, name: hosted}
        return hosted

    def remove_service(self, name: str) -> None:
        """Stop serving ``name`` (requests for it then get ``NOT_FOUND``)."""
        with self._lock:
            if name not in self._services:
                raise KeyError(
                    names.unknown_name("Service", name, list(self._services), "this server")
                )
            self._services = {k: v for k, v in self._services.items() if k != name}

    def service(self, name: str) -> HostedService | None:
        return self._services.get(name)

    @property
    def services(self) -> list[str]:
        return sorted(self._services)

    def _route(self, metadata: dict[str, str], model_name: str) -> HostedService:
        services = self._services
        route = metadata.get(routing.ROUTE_HEADER)
        if route is not None:
            name = routing.service_from_route(route)
            if name is None:
                raise _Abort(
                    grpc.StatusCode.NOT_FOUND,
                    f"Route {route!r} is not of the form {routing.ROUTE_PREFIX}<service name>.",
                )
        elif model_name in services:
            name = model_name
        elif len(services) == 1:
            name = next(iter(services))
        else:
            raise _Abort(
                grpc.StatusCode.NOT_FOUND,
                f"No {routing.ROUTE_HEADER} metadata and model_spec.name {model_name!r} names "
                f"no service; services here: {', '.join(sorted(services)) or 'none'}.",
            )
        hosted = services.get(name)
        if hosted is None:
            raise _Abort(
                grpc.StatusCode.NOT_FOUND,
                names.unknown_name("Service", name, sorted(services), "this cluster's endpoint"),
            )
        return hosted


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, server: PredictionServer) -> None:
        self._server = server

    def Predict(
        self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext
    ) -> predict_pb2.PredictResponse:
        try:
            return self._predict(request, context)
        except _Abort as abort:
            context.abort(abort.code, abort.message)
        except (InputError, OutputError, tensors.TensorError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception as exc:
            context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")
        raise AssertionError("unreachable: context.abort raises")

    def _predict(
        self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext
    ) -> predict_pb2.PredictResponse:
        metadata = dict(routing.metadata_dict(context.invocation_metadata()))
        hosted = self._server._route(metadata, request.model_spec.name)
        if not hosted.authorized(metadata.get(routing.AUTH_HEADER)):
            raise _Abort(
                grpc.StatusCode.UNAUTHENTICATED,
                f"Service {hosted.name!r} requires authorization: send metadata "
                "'authorization: Bearer <key>' with one of the service's keys (get_keys()) "
                "or a token (get_token()).",
            )
        down = hosted.available() if hosted.available is not None else None
        if down is not None:
            raise _Abort(grpc.StatusCode.UNAVAILABLE, down)
        feeds: dict[str, Any] = {}
        for key, proto in request.inputs.items():
            try:
                feeds[key] = tensors.to_numpy(proto)
            except tensors.TensorError as exc:
                raise InputError(f"Input {key!r}: {exc}") from exc
        results = hosted.model.run(feeds, list(request.output_filter))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = hosted.name
        response.model_spec.signature_name = request.model_spec.signature_name
        for key, value in results.items():
            response.outputs[key].CopyFrom(tensors.from_numpy(value))
        return response


def _as_model(session: ModelLike) -> OnnxModel:
    if isinstance(session, ort.InferenceSession):
        return OnnxModel(session)
    return OnnxModel.load(session)

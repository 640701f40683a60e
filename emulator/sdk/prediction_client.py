"""``azureml.accel.client``: ``PredictionClient``, the gRPC client of accelerated services.

Same constructor, methods, metadata and return shapes as the SDK's (azureml-accel-models):
every call sends ``authorization: Bearer <access_token>`` and
``x-ms-aml-grpc-service-route: /api/v1/service/<service_name>`` and calls
``tensorflow.serving.PredictionService/Predict``; the channel is recreated when it has not been
used for ``channel_shutdown_timeout``. Outputs: ``outputs`` a name → that array; a list → arrays
in that order; None → the only output, or a list of all of them.

Deliberate difference: the SDK retries every failure but ``INVALID_ARGUMENT`` five times with
exponential backoff (1 s, 2 s, 4 s, 8 s); this client retries only failures that can pass
(``UNAVAILABLE``, ``DEADLINE_EXCEEDED``, ``RESOURCE_EXHAUSTED``, ``ABORTED``, ``INTERNAL``,
``UNKNOWN``), so a wrong token or service name fails at once with the same error.

Emulator addition: emulated clusters serve gRPC on a port of their own rather than on the
scoring URI's port 80, so an address that names a cluster's HTTP router (``client_from_service``'s,
or the quickstart's ``scoring_uri[scoring_uri.find('/') + 2:].strip('/')``, whose path is dropped
and whose port wins over ``port``) is dialled at that cluster's gRPC endpoint instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import grpc

from emulator.accel import routing, tensors
from emulator.accel.proto import predict_pb2, prediction_service_pb2_grpc, types_pb2
from emulator.services.grpc_gateway import GRPC
from emulator.services.uris import real_scoring_uri

__all__ = ["PredictionClient", "client_from_service"]

_RETRIED = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)
_CHANNEL_OPTIONS = [
    ("grpc.optimization_target", "latency"),
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]

Outputs = str | Sequence[str] | None


class PredictionClient:
    """Scores an accelerated (FPGA) service over gRPC."""

    _attempts = 5
    _first_backoff_s = 1.0

    def __init__(
        self,
        address: str,
        port: int | None = None,
        use_ssl: bool = False,
        access_token: str = "",
        service_name: str = "",
        channel_shutdown_timeout: timedelta = timedelta(minutes=2),
    ) -> None:
        if address is None:
            raise ValueError("address")
        if port is None:
            port = 443 if use_ssl else 80
        self._target = _dial_target(address, port)
        self._use_ssl = use_ssl
        self._channel_shutdown_timeout = channel_shutdown_timeout
        self._metadata = (
            (routing.AUTH_HEADER, f"Bearer {access_token or ''}"),
            (routing.ROUTE_HEADER, routing.route_for(service_name)),
        )
        self._channel: grpc.Channel | None = None
        self._stub: prediction_service_pb2_grpc.PredictionServiceStub | None = None
        self._usable_until: datetime | None = None
        self._get_grpc_stub()

    # -- the SDK's methods -----------------------------------------------------------------------

    def score_file(
        self, path: str, input_name: str = "images", outputs: Outputs = None, timeout: float = 10.0
    ) -> Any:
        """Send the file's bytes as a ``DT_STRING`` tensor of shape ``[1]``; returns the first
        batch item (a list of outputs is returned as it is, as the SDK does)."""
        with open(path, "rb") as fh:
            data = fh.read()
        result = self.score_tensors(
            {input_name: (data, [1], types_pb2.DT_STRING)}, outputs, timeout
        )
        if isinstance(result, list):
            return result
        return result[0]

    def score_numpy_arrays(
        self, input_map: Mapping[str, Any], outputs: Outputs = None, timeout: float = 30.0
    ) -> Any:
        """Each array becomes a TensorProto (``tf.make_tensor_proto``'s encoding)."""
        request = predict_pb2.PredictRequest()
        for name, value in input_map.items():
            request.inputs[name].CopyFrom(tensors.from_numpy(value))
        return self._predict(request, outputs, timeout)

    def score_tensors(
        self,
        input_map: Mapping[str, tuple[Any, Sequence[int], int]],
        outputs: Outputs = None,
        timeout: float = 10.0,
    ) -> Any:
        """``{name: (data, shape, types_pb2 dtype)}``: raw ``tensor_content`` bytes, or for
        ``DT_STRING`` the string value(s)."""
        request = predict_pb2.PredictRequest()
        for name, (data, shape, dtype) in input_map.items():
            tensor = request.inputs[name]
            tensor.dtype = dtype
            if dtype == types_pb2.DT_STRING:
                tensor.string_val.extend(data if isinstance(data, (list, tuple)) else [data])
            else:
                tensor.tensor_content = bytes(data)
            tensor.tensor_shape.CopyFrom(tensors.make_shape(tuple(shape)))
        return self._predict(request, outputs, timeout)

    # -- plumbing --------------------------------------------------------------------------------

    def _predict(
        self, request: predict_pb2.PredictRequest, outputs: Outputs, timeout: float
    ) -> Any:
        wanted = [outputs] if isinstance(outputs, str) else list(outputs or [])
        request.output_filter.extend(wanted)
        delay = self._first_backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._get_grpc_stub().Predict(
                    request, timeout=timeout, metadata=self._metadata
                )
                break
            except grpc.RpcError as err:
                code = err.code() if isinstance(err, grpc.Call) else None
                if code not in _RETRIED or attempt == self._attempts:
                    raise
                print(f"Retrying {err}")
                time.sleep(delay)
                delay *= 2
        arrays = {name: tensors.to_numpy(proto) for name, proto in response.outputs.items()}
        if isinstance(outputs, str):
            return arrays[outputs]
        if wanted:
            return [arrays[name] for name in wanted]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        return list(arrays.values())

    def _get_grpc_stub(self) -> prediction_service_pb2_grpc.PredictionServiceStub:
        now = datetime.now()
        if self._stub is None or self._usable_until is None or self._usable_until < now:
            self._reinitialize_channel()
        self._usable_until = now + self._channel_shutdown_timeout
        assert self._stub is not None
        return self._stub

    def _reinitialize_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._use_ssl:
            credentials = grpc.ssl_channel_credentials()
            self._channel = grpc.secure_channel(self._target, credentials, _CHANNEL_OPTIONS)
        else:
            self._channel = grpc.insecure_channel(self._target, _CHANNEL_OPTIONS)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self) -> None:
        """Close the channel (the SDK leaves this to garbage collection)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None

    def __repr__(self) -> str:
        return f"PredictionClient(target={self._target!r}, use_ssl={self._use_ssl})"


def _dial_target(address: str, port: int) -> str:
    """``address:port``, or the gRPC endpoint of the emulated cluster whose HTTP router that
    names (see the module docstring)."""
    host = address.split("/", 1)[0]
    name, colon, given = host.rpartition(":")
    if colon and given.isdigit() and (":" not in name or name.startswith("[")):
        host, port = name, int(given)  # a port in the address (IPv6 only in brackets)
    return GRPC.target(host.strip("[]"), port) or f"{host}:{port}"


def client_from_service(service: Any) -> PredictionClient:
    """A client for a deployed accelerated ``AksWebservice`` (from its ``scoring_uri``; the
    primary key when key auth is on, a token when token auth is)."""
    url = urlparse(real_scoring_uri(service))  # gRPC never goes through the HTTP mock
    use_ssl = url.scheme == "https"
    token = ""
    if getattr(service, "auth_enabled", False):
        token = service.get_keys()[0]
    elif getattr(service, "token_auth_enabled", False):
        token = service.get_token()[0]
    return PredictionClient(
        address=url.hostname or "",
        port=url.port or (443 if use_ssl else 80),
        use_ssl=use_ssl,
        access_token=token,
        service_name=service.name,
    )

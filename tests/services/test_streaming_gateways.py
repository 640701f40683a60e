"""Streamed answers through the front ends: whole behind ACI/AKS, chunk by chunk for local services.

Azure's ACI and AKS front ends deliver an ``AMLResponse`` wrapping a generator in one piece (users
report streaming works locally but not once deployed); a local service has no front end, so its
client sees the chunks as azmlinfsrv sends them. The scoring script waits for a file before each
chunk after the first, so "nothing arrived before the file existed" is what buffering looks like
and "the first chunk arrived before it" is what streaming looks like.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_harness import REPO, ScoringServer, wait_until

from emulator import AciWebservice, InferenceConfig, LocalWebservice, Model, Workspace
from emulator.runtime.labels import SERVICE
from emulator.services import Gateway, Replica

STREAM_SCRIPT = REPO / "fixtures" / "scoring" / "server" / "score_stream.py"
WAIT_S = 30.0
#: How long a buffering front end is given to (wrongly) pass on the first chunk.
QUIET_S = 1.0


class Exchange:
    """One POST on a raw socket; the answer read as it arrives."""

    def __init__(self, port: int, target: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        self.data = b""
        head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        self.sock.sendall((head + "Content-Length: 2\r\n\r\nhi").encode())

    def read_until(self, marker: bytes) -> None:
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed before {marker!r}: {self.data!r}"
            self.data += chunk

    def nothing_arrives(self) -> bool:
        self.sock.settimeout(QUIET_S)
        try:
            self.data += self.sock.recv(65536)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(WAIT_S)
        return False

    def read_to_end(self) -> bytes:
        while chunk := self.sock.recv(65536):
            self.data += chunk
        return self.data

    def close(self) -> None:
        self.sock.close()


def head_and_body(data: bytes) -> tuple[dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}, body


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[ScoringServer]:
    server = ScoringServer(tmp_path, STREAM_SCRIPT)
    yield server
    server.stop()


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    return tmp_path / "gate"


def _gateway(mode: str, replica: ScoringServer, streams: bool = False) -> Gateway:
    gateway = Gateway("aks" if mode == "aks" else "aci", streams=streams)
    gateway.start()
    gateway.add_service("stream", lambda: [Replica(id="r", port=replica.port)])
    return gateway


@pytest.mark.parametrize("mode", ["aci", "aks"])
def test_aci_and_aks_front_ends_deliver_a_stream_whole(
    mode: str, replica: ScoringServer, gate: Path
) -> None:
    gateway = _gateway(mode, replica)
    path = "/score" if mode == "aci" else "/api/v1/service/stream/score"
    exchange = Exchange(gateway.port, f"{path}?mode=ok&n=2&gate={gate}")
    try:
        assert exchange.nothing_arrives()  # the generator has yielded chunk 0 by now
        (gate.parent / "gate.1").touch()
        headers, body = head_and_body(exchange.read_to_end())
    finally:
        exchange.close()
        gateway.stop()
    assert body == b"chunk 0\nchunk 1\n"
    assert headers["content-length"] == "16" and "transfer-encoding" not in headers
    assert headers["x-ms-run-function-failed"] == "False"


def test_a_stream_cut_behind_an_aci_front_end_is_a_502_naming_the_cut(
    replica: ScoringServer,
) -> None:
    gateway = _gateway("aci", replica)
    exchange = Exchange(gateway.port, "/score?mode=raise")
    try:
        headers, body = head_and_body(exchange.read_to_end())
    finally:
        exchange.close()
        gateway.stop()
    assert exchange.data.startswith(b"HTTP/1.1 502 ")
    assert body == b"Replica of service stream cut its answer off before the end"
    assert "generator" in headers["x-amlemu-hint"]


def test_a_local_services_front_passes_chunks_on_as_they_come(
    replica: ScoringServer, gate: Path
) -> None:
    gateway = _gateway("local", replica, streams=True)
    exchange = Exchange(gateway.port, f"/score?mode=ok&n=2&gate={gate}")
    try:
        exchange.read_until(b"8\r\nchunk 0\n\r\n")  # before the generator may go on
        (gate.parent / "gate.1").touch()
        headers, body = head_and_body(exchange.read_to_end())
    finally:
        exchange.close()
        gateway.stop()
    assert body == b"8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n"
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers


def test_a_local_services_front_passes_a_cut_stream_on_cut(replica: ScoringServer) -> None:
    gateway = _gateway("local", replica, streams=True)
    exchange = Exchange(gateway.port, "/score?mode=raise")
    try:
        data = exchange.read_to_end()
    finally:
        exchange.close()
    try:
        _, body = head_and_body(data)
        assert body == b"8\r\nchunk 0\n\r\n"  # no terminating chunk: the client sees the cut
        answer = Exchange(gateway.port, "/score?mode=ok&n=1")  # the replica serves on
        try:
            assert answer.read_to_end().endswith(b"8\r\nchunk 0\n\r\n0\r\n\r\n")
        finally:
            answer.close()
    finally:
        gateway.stop()


def test_a_client_leaving_a_local_service_closes_the_generator(replica: ScoringServer) -> None:
    gateway = _gateway("local", replica, streams=True)
    route = gateway.service("stream")
    exchange = Exchange(gateway.port, "/score?mode=ok&n=0&pause=0.01")  # endless
    try:
        exchange.read_until(b"chunk 1\n")
        assert any(route.gate.in_flight.values())  # the replica is busy while it streams
    finally:
        exchange.close()
    try:
        wait_until(lambda: "generator closed after chunk" in replica.log.read_text(), WAIT_S)
        wait_until(
            lambda: not any(route.gate.in_flight.values()), WAIT_S
        )  # the replica's slot is free
    finally:
        gateway.stop()


@pytest.fixture
def stream_script(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    shutil.copy(STREAM_SCRIPT, workdir / "score_stream.py")
    return "score_stream.py"


def test_local_webservice_streams_and_aci_delivers_whole(
    aml_workspace: Workspace, stream_script: str, gate: Path
) -> None:
    config = InferenceConfig(stream_script)
    local = Model.deploy(
        aml_workspace, "stream-local", [], config, LocalWebservice.deploy_configuration()
    )
    aci = Model.deploy(
        aml_workspace, "stream-aci", [], config, AciWebservice.deploy_configuration()
    )
    try:
        local.wait_for_deployment()
        aci.wait_for_deployment()
        local_port = int(local.scoring_uri.split(":")[2].split("/")[0])
        exchange = Exchange(local_port, f"/score?mode=ok&n=2&gate={gate}")
        try:
            exchange.read_until(b"8\r\nchunk 0\n\r\n")
            (gate.parent / "gate.1").touch()
            assert exchange.read_to_end().endswith(b"8\r\nchunk 1\n\r\n0\r\n\r\n")
        finally:
            exchange.close()
        aci_port = int(aci.scoring_uri.split(":")[2].split("/")[0])
        whole = Exchange(aci_port, f"/score?mode=ok&n=2&gate={gate}x")
        try:
            assert whole.nothing_arrives()
            (gate.parent / "gatex.1").touch()
            headers, body = head_and_body(whole.read_to_end())
        finally:
            whole.close()
        assert (headers["content-length"], body) == ("16", b"chunk 0\nchunk 1\n")
    finally:
        local.delete()
        aci.delete()


@pytest.mark.slow
@pytest.mark.docker
def test_a_local_webservice_on_docker_streams(
    aml_workspace: Workspace,
    workdir: Path,
    docker_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same through a Docker replica: the gate file is made inside its container."""
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "docker")
    shutil.copy(STREAM_SCRIPT, workdir / "score_stream.py")
    config = InferenceConfig("score_stream.py")
    local = Model.deploy(
        aml_workspace, "stream-docker", [], config, LocalWebservice.deploy_configuration()
    )
    try:
        local.wait_for_deployment()
        (container,) = docker_engine.containers.list(filters={"label": f"{SERVICE}=stream-docker"})
        port = int(local.scoring_uri.split(":")[2].split("/")[0])
        exchange = Exchange(port, "/score?mode=ok&n=2&gate=/tmp/amlemu-gate")
        try:
            exchange.read_until(b"8\r\nchunk 0\n\r\n")  # chunk 1 waits for the gate
            assert container.exec_run(["touch", "/tmp/amlemu-gate.1"]).exit_code == 0
            assert exchange.read_to_end().endswith(b"8\r\nchunk 1\n\r\n0\r\n\r\n")
        finally:
            exchange.close()
        headers, _ = head_and_body(exchange.data)
        assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    finally:
        local.delete()

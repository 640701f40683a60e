"""The in-process HTTP mock: Azure scoring URIs routed to emulated services, fake blobs, loud
failures for other Azure addresses, passthrough for the rest, and a clean exit.

Services are built with the host builder and run as processes (about a second each).
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

import emulator
from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    ComputeTarget,
    ContainerImage,
    Image,
    Webservice,
    Workspace,
)
from emulator.mock import AzureMock, AzureMockError, UnmatchedAzureURL

ASSETS = Path(__file__).resolve().parent.parent / "fixtures"
BLOB = "https://seedstorage.blob.core.windows.net/models/nyc-taxi/model.pkl"


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


@pytest.fixture
def image(aml_workspace: Workspace, workdir: Path) -> Image:
    shutil.copy(ASSETS / "scoring" / "score_timed.py", workdir / "score_timed.py")
    config = ContainerImage.image_configuration("score_timed.py", "python")
    built = Image.create(aml_workspace, "timed", [], config)
    built.wait_for_creation()
    return built


@pytest.fixture
def loopback_server() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 (a free port) answering ``GET`` with ``local``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"local")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/file"
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_client_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connecting a socket from this (the test's) thread fails; the gateway's own thread, which
    talks to the replica process, is unaffected."""
    caller = threading.current_thread()
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if threading.current_thread() is caller:
            raise AssertionError(f"the client opened a socket to {address}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _urllib(url: str, data: bytes | None = None, key: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _patch_points() -> tuple[Any, Any]:
    return requests.adapters.HTTPAdapter.send, getattr(urllib.request, "_opener", None)


@pytest.fixture
def restored() -> Callable[[], bool]:
    """Whether ``requests`` and ``urllib`` are as they were when the test started."""
    before = _patch_points()
    return lambda: _patch_points() == before


def test_aci_scoring_uri_is_azure_shaped_and_answered_in_process(
    aml_workspace: Workspace,
    image: Image,
    request: pytest.FixtureRequest,
    restored: Callable[[], bool],
) -> None:
    with AzureMock(azure_uris=True):
        service = Webservice.deploy_from_image(aml_workspace, "timed-aci", image)
        service.wait_for_deployment()
        assert isinstance(service, AciWebservice)
        assert re.fullmatch(
            r"http://timed-aci-[0-9a-f]{8}\.eastus\.azurecontainer\.io/score", service.scoring_uri
        )
        assert service.swagger_uri == service.scoring_uri[: -len("score")] + "swagger.json"

        request.getfixturevalue("no_client_sockets")
        answer = requests.post(service.scoring_uri, json={})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert answer.headers["Content-Type"] == "application/json"
        swagger = requests.get(service.swagger_uri)
        assert swagger.status_code == 200 and swagger.json()["swagger"] == "2.0"
        assert _urllib(service.scoring_uri, b"{}")[0] == 200
        assert service.run("{}")["version"] == 1  # the SDK's run() goes through urllib
        with service.faults.drop():  # the gateway drops the request: as over a socket
            with pytest.raises(requests.exceptions.ConnectionError, match="Connection aborted"):
                requests.post(service.scoring_uri, json={})
            with pytest.raises(http.client.RemoteDisconnected):
                _urllib(service.scoring_uri, b"{}")

        other = service.scoring_uri.replace("timed-aci-", "other-")
        # Other tests of this worker process may still host services: the list names them all.
        running = r"Services running in this process: (\S+, )*timed-aci[,.]"
        with pytest.raises(UnmatchedAzureURL, match=running):
            requests.post(other, json={})

    assert service.scoring_uri.startswith("http://127.0.0.1:")  # loopback again
    assert service.swagger_uri.startswith("http://127.0.0.1:")
    assert restored()
    service.delete()


def test_aks_key_auth_through_the_mock_matches_the_http_endpoint(
    aml_workspace: Workspace, image: Image
) -> None:
    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    cluster = ComputeTarget.create(aml_workspace, "aks-mock", config)
    cluster.wait_for_completion()
    deploy = AksWebservice.deploy_configuration(num_replicas=1)
    service = Webservice.deploy_from_image(aml_workspace, "scored", image, deploy, cluster)
    service.wait_for_deployment()
    loopback = service.scoring_uri
    key = service.get_keys()[0]

    with AzureMock(azure_uris=True):
        service.update_deployment_state()
        uri = service.scoring_uri
        assert re.fullmatch(r"http://20\.\d+\.\d+\.\d+:80/api/v1/service/scored/score", uri)
        assert requests.post(uri, json={}).text == "Unauthorized, no Auth Header"
        assert requests.post(uri, json={}).status_code == 401
        assert _urllib(uri, b"{}") == (401, b"Unauthorized, no Auth Header")
        wrong = requests.post(uri, json={}, headers={"Authorization": "Bearer wrong"})
        assert (wrong.status_code, wrong.text) == (401, "Unauthorized, invalid key")
        answer = requests.post(uri, json={}, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200 and answer.json()["version"] == 1
        assert requests.get(service.swagger_uri).status_code == 200  # no key needed
        assert service.run("{}")["version"] == 1
        missing = uri.replace("/scored/", "/missing/")
        assert requests.post(missing, json={}).text == "Service missing not found"
        slow = json.dumps({"sleep": 1}).encode()
        auth = {"Authorization": f"Bearer {key}"}
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(uri, data=slow, headers=auth, timeout=0.2)
        with pytest.raises(TimeoutError):
            urllib.request.urlopen(urllib.request.Request(uri, slow, auth), timeout=0.2)

    assert service.scoring_uri == loopback
    assert _urllib(loopback, b"{}") == (401, b"Unauthorized, no Auth Header")  # same over HTTP
    service.delete()


def test_blobs_download_through_requests_and_urllib(
    tmp_path: Path, restored: Callable[[], bool]
) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"first")
    with AzureMock() as mock:
        mock.add_blob(BLOB, model)
        mock.add_blob("https://example.com/weights.bin", b"\x00\x01")
        model.write_bytes(b"pickled model")  # read when requested
        answer = requests.get(f"{BLOB}?sv=2020-08-04&sig=abc")  # SAS tokens are ignored
        assert answer.status_code == 200 and answer.content == b"pickled model"
        assert answer.headers["x-ms-blob-type"] == "BlockBlob"
        assert requests.head(BLOB).headers["Content-Length"] == str(len(b"pickled model"))
        path, headers = urllib.request.urlretrieve(BLOB, tmp_path / "downloaded.pkl")
        assert Path(path).read_bytes() == b"pickled model"
        assert headers["Content-Type"] == "application/octet-stream"
        assert requests.get("https://example.com/weights.bin").content == b"\x00\x01"

        with pytest.raises(UnmatchedAzureURL, match=r"mock\.add_blob\('https://seed"):
            requests.get(BLOB.replace("model.pkl", "other.pkl"))
        with pytest.raises(UnmatchedAzureURL, match="can only be read"):
            requests.put(BLOB, data=b"x")
        with pytest.raises(FileNotFoundError, match="is not a file"):
            mock.add_blob(BLOB, tmp_path / "absent.pkl")
    assert restored()


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com/subscriptions/0/resourceGroups/rg",
        "https://eastus.api.azureml.ms/history/v1.0/runs",
        "https://ml.azureml.ms/",
        "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
        "http://203.0.113.4:80/api/v1/service/private/score",
    ],
)
def test_unmatched_azure_urls_fail_loudly(url: str) -> None:
    with AzureMock():
        with pytest.raises(UnmatchedAzureURL, match=re.escape(url)):
            requests.get(url)
        with pytest.raises(UnmatchedAzureURL, match=re.escape(url)):
            urllib.request.urlopen(url, timeout=5)


def test_other_urls_pass_through(loopback_server: str) -> None:
    with AzureMock():
        assert requests.get(loopback_server).text == "local"
        assert _urllib(loopback_server) == (200, b"local")
    with responses.RequestsMock() as outer:  # an outer responses mock keeps answering
        outer.add(responses.GET, "http://example.invalid/data", body="outer")
        with AzureMock():
            assert requests.get("http://example.invalid/data").text == "outer"


def test_cleanup_after_errors_and_as_decorator(restored: Callable[[], bool]) -> None:
    with pytest.raises(KeyError), AzureMock():
        assert not restored()
        raise KeyError("the test failed inside the mock")
    assert restored()

    @AzureMock()
    def decorated() -> bytes:
        return requests.get(BLOB).content

    with pytest.raises(UnmatchedAzureURL):
        decorated()
    assert restored()

    mock = AzureMock()
    with mock, pytest.raises(AzureMockError, match="already active"):
        mock.__enter__()
    assert restored()


def test_mock_aml_http_activates_the_mock_too(restored: Callable[[], bool]) -> None:
    with emulator.mock_aml(http=True) as aml:
        assert emulator.is_active() and aml.http is not None
        aml.http.add_blob(BLOB, b"model")
        assert requests.get(BLOB).content == b"model"
    assert aml.http is None and restored()
    with emulator.mock_aml() as plain:
        assert plain.http is None and restored()

"""An online endpoint's scoring URI through the real ``azure-ai-ml`` client: traffic weights over
many requests, the ``azureml-model-deployment`` header, mirrored traffic, 404 without traffic,
``request_settings`` (408, 429), and the replica's answer passed on byte for byte."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
)
from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.arm import scoring_responses
from emulator.daemon.server import EmulatorServer
from emulator.endpoints.deployments import DeploymentRecord, OnlineDeployments
from emulator.endpoints.registry import EndpointSpec, OnlineEndpoints
from emulator.endpoints.routing import RequestSettings, Router
from emulator.exceptions import BadArgument
from emulator.settings import BUILDER_ENV
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

SUB = "11111111-2222-3333-4444-555555555555"
ENDPOINT = "scoring-ep"

#: One scoring script for every deployment: it says who answered (WHO), logs each request body
#: to LOG, and behaves as the request asks (sleep, a text/binary answer, a failure).
SCORE = """
import json, os, time
from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse

def init():
    pass

@rawhttp
def run(request):
    body = json.loads(request.get_data() or b"{}")
    with open(os.environ["LOG"], "a") as log:
        log.write(json.dumps(body) + "\\n")
    if body.get("started"):
        open(body["started"], "w").close()
    time.sleep(body.get("sleep", 0))
    if body.get("finished"):
        open(body["finished"], "w").close()
    who = os.environ["WHO"]
    mode = body.get("mode")
    if mode == "text":
        return AMLResponse("plain text from " + who, 200, {"Content-Type": "text/plain"})
    if mode == "binary":
        return AMLResponse(bytes(range(256)), 200, {"Content-Type": "application/octet-stream"})
    if mode == "fail":
        return AMLResponse("model failed: bad input " + who, 500, {"Content-Type": "text/plain"})
    return {"deployment": who}
"""


@pytest.fixture
def client(
    arm_server: EmulatorServer, v2_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> MLClient:
    monkeypatch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def _deploy(
    client: MLClient,
    tmp_path: Path,
    endpoint: str,
    name: str,
    settings: OnlineRequestSettings | None = None,
) -> Path:
    """Create deployment ``name`` of ``endpoint``; returns the file its replica logs to."""
    code = tmp_path / "src"
    if not code.is_dir():
        code.mkdir()
        (code / "score.py").write_text(SCORE)
    model = tmp_path / f"model-{name}.txt"  # a model of its own: anonymous assets are immutable
    model.write_text(f"weights of {name}")
    log = tmp_path / f"{name}.log"
    log.touch()
    deployment = ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=Model(path=str(model)),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_type="Standard_DS3_v2",
        instance_count=1,
        environment_variables={"WHO": name, "LOG": str(log)},
        request_settings=settings,
    )
    assert client.online_deployments.begin_create_or_update(deployment).result().name == name
    return log


def _set_traffic(
    client: MLClient, endpoint: str, traffic: dict[str, int], mirror: dict[str, int] | None = None
) -> None:
    ep = client.online_endpoints.get(endpoint)
    ep.traffic = traffic
    ep.mirror_traffic = mirror or {}
    client.online_endpoints.begin_create_or_update(ep).result()


class Scorer:
    """A keep-alive HTTPS client of an endpoint's scoring URI, with its primary key."""

    def __init__(self, client: MLClient, endpoint: str, server: EmulatorServer) -> None:
        uri = urlparse(client.online_endpoints.get(endpoint).scoring_uri)
        self.path = uri.path
        self.key = client.online_endpoints.get_keys(endpoint).primary_key
        context = ssl.create_default_context(cafile=str(server.ca.ca_cert))
        self.conn = http.client.HTTPSConnection(uri.hostname, uri.port, context=context)

    def post(
        self, body: dict[str, object], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.conn.request(
            "POST",
            self.path,
            json.dumps(body),
            {
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        answer = self.conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def _lines(log: Path, count: int, deadline_s: float = 30.0) -> list[str]:
    """The log's lines once it has ``count`` (copies arrive in the background), or at the
    deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        lines = log.read_text().splitlines()
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_traffic_weights_split_requests_exactly_and_the_header_picks_a_deployment(
    client: MLClient, endpoint: str, tmp_path: Path, arm_server: EmulatorServer, request_file: Path
) -> None:
    _deploy(client, tmp_path, endpoint, "blue")
    _deploy(client, tmp_path, endpoint, "green")

    _set_traffic(client, endpoint, {"blue": 100})
    answers = [
        json.loads(
            client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(request_file))
        )
        for _ in range(5)
    ]
    assert answers == [{"deployment": "blue"}] * 5

    _set_traffic(client, endpoint, {"blue": 70, "green": 30})
    scorer = Scorer(client, endpoint, arm_server)
    served: Counter[str] = Counter()
    for _ in range(40):
        status, headers, body = scorer.post({})
        assert status == 200
        assert json.loads(body)["deployment"] == headers["azureml-model-deployment"]
        served[headers["azureml-model-deployment"]] += 1
    assert served == {"blue": 28, "green": 12}  # 70/30 of every 10 requests

    _set_traffic(client, endpoint, {"blue": 50, "green": 50})
    routed = [scorer.post({})[1]["azureml-model-deployment"] for _ in range(20)]
    assert Counter(routed) == {"blue": 10, "green": 10}
    assert "blue" in routed[:2] and "green" in routed[:2]  # interleaved, not in blocks

    # The header picks a deployment whatever the weights (0 included), in any case.
    _set_traffic(client, endpoint, {"blue": 100, "green": 0})
    status, headers, body = scorer.post({}, {"azureml-model-deployment": "GREEN"})
    assert (status, json.loads(body)) == (200, {"deployment": "green"})
    status, _, body = scorer.post({}, {"azureml-model-deployment": "purple"})
    assert (
        status == 404
        and b"Deployment 'purple' of online endpoint 'scoring-ep' does not exist" in body
    )

    # No deployment with traffic and no header: Azure's 404.
    _set_traffic(client, endpoint, {"blue": 0, "green": 0})
    with pytest.raises(ResourceNotFoundError, match="No valid deployments to route to"):
        client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(request_file))


def test_mirrored_traffic_copies_its_share_to_the_mirror_deployment_whose_answers_are_dropped(
    client: MLClient, endpoint: str, tmp_path: Path, request_file: Path
) -> None:
    blue_log = _deploy(client, tmp_path, endpoint, "blue")
    green_log = _deploy(client, tmp_path, endpoint, "green")
    red_log = _deploy(client, tmp_path, endpoint, "red")

    # Azure's rules: one mirror deployment, at most 50 %, never one with live traffic.
    with pytest.raises(HttpResponseError, match="need to sum to at most 50"):
        _set_traffic(client, endpoint, {"blue": 100}, {"green": 60})
    with pytest.raises(HttpResponseError, match="mirrored to only one deployment"):
        _set_traffic(client, endpoint, {"blue": 100}, {"green": 10, "red": 10})
    with pytest.raises(HttpResponseError, match="cannot receive both live and mirror traffic"):
        _set_traffic(client, endpoint, {"blue": 50, "green": 50}, {"green": 10})

    _set_traffic(client, endpoint, {"blue": 100}, {"green": 50})
    ep = client.online_endpoints.get(endpoint)
    assert ep.mirror_traffic == {"green": 50}
    assert ep.traffic == {"blue": 100, "red": 0}

    answers = {
        client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(request_file))
        for _ in range(10)
    }
    assert {json.loads(a)["deployment"] for a in answers} == {"blue"}  # the client sees blue
    assert len(_lines(blue_log, 10)) == 10
    copies = _lines(green_log, 5)
    assert [json.loads(line) for line in copies] == [{"data": [1, 2]}] * 5  # half, as sent
    assert red_log.read_text() == ""

    # Removing the mirror stops the copies.
    _set_traffic(client, endpoint, {"blue": 100})
    assert client.online_endpoints.get(endpoint).mirror_traffic == {}
    client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(request_file))
    assert len(_lines(blue_log, 11)) == 11
    time.sleep(0.3)
    assert len(green_log.read_text().splitlines()) == 5


def test_request_settings_time_out_with_408_and_refuse_overflow_with_429(
    client: MLClient, endpoint: str, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    settings = OnlineRequestSettings(
        request_timeout_ms=2000, max_concurrent_requests_per_instance=1, max_queue_wait_ms=200
    )
    _deploy(client, tmp_path, endpoint, "blue", settings)
    _set_traffic(client, endpoint, {"blue": 100})
    # The SDK sends PT2S and reads it back (it rounds to whole seconds when reading).
    assert (
        client.online_deployments.get("blue", endpoint).request_settings.request_timeout_ms == 2000
    )
    scorer = Scorer(client, endpoint, arm_server)

    finished = tmp_path / "finished"
    status, _, body = scorer.post({"sleep": 4, "finished": str(finished)})
    assert status == 408
    assert "request_timeout_ms=2000" in json.loads(body)["error"]["message"]
    _wait_for(finished)  # the replica itself goes on with the request, as in Azure
    assert scorer.post({})[0] == 200

    # One request in flight (the limit: 1 per instance x 1 instance); others wait 200 ms, then 429.
    started = tmp_path / "started"
    slow = threading.Thread(
        target=lambda: Scorer(client, endpoint, arm_server).post(
            {"sleep": 1.2, "started": str(started)}
        )
    )
    slow.start()
    _wait_for(started)
    status, _, body = scorer.post({})
    slow.join()
    assert status == 429
    error = json.loads(body)["error"]
    assert error["code"] == "TooManyRequests"
    assert "max_concurrent_requests_per_instance=1 x 1 instance(s)" in error["message"]
    assert scorer.post({})[0] == 200


def test_the_replicas_answer_passes_through_byte_for_byte_and_its_errors_are_424(
    client: MLClient, endpoint: str, tmp_path: Path, arm_server: EmulatorServer
) -> None:
    _deploy(client, tmp_path, endpoint, "blue")
    _set_traffic(client, endpoint, {"blue": 100})

    text_request = tmp_path / "text.json"
    text_request.write_text(json.dumps({"mode": "text"}))
    answer = client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(text_request))
    assert answer == "plain text from blue"  # not re-encoded as a JSON string

    scorer = Scorer(client, endpoint, arm_server)
    status, headers, body = scorer.post({"mode": "binary"})
    assert (status, body) == (200, bytes(range(256)))
    assert headers["content-type"] == "application/octet-stream"

    status, headers, body = scorer.post({"mode": "fail"})
    assert (status, body) == (424, b"model failed: bad input blue")
    assert headers["ms-azureml-model-error-statuscode"] == "500"
    fail_request = tmp_path / "fail.json"
    fail_request.write_text(json.dumps({"mode": "fail"}))
    # The model's own (text) body reaches the SDK, which raises it as an MlException.
    with pytest.raises(MlException, match="model failed: bad input blue"):
        client.online_endpoints.invoke(endpoint_name=endpoint, request_file=str(fail_request))


def test_the_router_follows_traffic_another_process_sets_on_the_very_next_request(
    tmp_path: Path,
) -> None:
    """The routing records are cached between requests; a write by any process (here a child
    process, as the daemon and ``amlemu`` are to each other) must still apply at once."""
    root = EmulatorRoot(tmp_path / "root")
    workspace, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    deployments = OnlineDeployments(root, workspace.id)
    for name in ("blue", "green", "red", "gray"):
        deployments.put("ep1", name, {}, {}, {"capacity": 1})
    OnlineEndpoints(root, workspace.id).create_or_update("ep1", EndpointSpec(traffic={"blue": 100}))
    router = Router(root)
    assert router.workspace_id("SUB", "RG", "WS") == workspace.id
    assert router.workspace_id("sub", "rg", "other") is None
    first = router.endpoint(workspace.id, "ep1")
    assert router.choose(workspace.id, first, None).deployment.name == "blue"

    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from emulator.store.root import EmulatorRoot; "
            "from emulator.endpoints.registry import EndpointSpec, OnlineEndpoints; "
            "OnlineEndpoints(EmulatorRoot(Path(sys.argv[1])), int(sys.argv[2])).create_or_update("
            "'ep1', EndpointSpec(traffic={'blue': 50, 'green': 30, 'red': 20}, "
            "mirror_traffic={'gray': 20}))",
            str(root.path),
            str(workspace.id),
        ],
        check=True,
    )
    endpoint = router.endpoint(workspace.id, "EP1")
    assert (endpoint.traffic, endpoint.mirror_traffic) == (
        {"blue": 50, "green": 30, "red": 20},
        {"gray": 20},
    )
    routes = [router.choose(workspace.id, endpoint, None) for _ in range(20)]
    assert Counter(r.deployment.name for r in routes[:10]) == {"blue": 5, "green": 3, "red": 2}
    assert Counter(r.deployment.name for r in routes) == {"blue": 10, "green": 6, "red": 4}
    assert [r.mirror.name for r in routes if r.mirror is not None] == ["gray"] * 4  # 20 %
    named = router.choose(workspace.id, endpoint, "Gray")
    assert (named.deployment.name, named.mirror) == ("gray", None)  # a named request: no copy

    deployments.delete("ep1", "gray")  # the mirror goes: the live requests still go through
    assert all(router.choose(workspace.id, endpoint, None).mirror is None for _ in range(10))


def test_mirrored_traffic_is_refused_on_a_kubernetes_endpoint(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    workspace, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    for name in ("blue", "green"):
        OnlineDeployments(root, workspace.id).put("k8s-ep", name, {}, {}, {"capacity": 1})
    endpoints = OnlineEndpoints(root, workspace.id)
    spec = EndpointSpec(traffic={"blue": 100}, mirror_traffic={"green": 10}, compute="k8s")
    with pytest.raises(BadArgument, match="mirroring isn't supported for Kubernetes online"):
        endpoints.create_or_update("k8s-ep", spec)
    managed, _ = endpoints.create_or_update("k8s-ep", replace(spec, compute=None))
    assert managed.mirror_traffic == {"green": 10}


def test_mirrored_copies_beyond_the_bound_are_dropped_not_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow mirror deployment must not pile up threads: copies past the bound are dropped."""
    monkeypatch.setattr(scoring_responses, "MAX_MIRRORED_IN_FLIGHT", 2)
    release = threading.Event()
    started: list[str] = []

    def held(
        root: EmulatorRoot, workspace_id: int, record: DeploymentRecord, _: RequestSettings
    ) -> None:
        started.append(record.name)
        release.wait(30)  # a mirror deployment that does not answer

    monkeypatch.setattr(scoring_responses, "deliver_to", held)
    root = EmulatorRoot(tmp_path / "root")
    scoring = scoring_responses.Scoring(root)
    mirror = DeploymentRecord("ep1", "gray", {}, {}, {}, "Succeeded", None, "", "")
    for _ in range(5):
        scoring._mirror(root, 1, mirror, "POST", "/score", b"{}", ())
    deadline = time.monotonic() + 10
    while len(started) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started == ["gray", "gray"]  # two in flight, three dropped
    release.set()
    while len(started) < 3 and time.monotonic() < deadline:  # slots free again once answered
        scoring._mirror(root, 1, mirror, "POST", "/score", b"{}", ())
        time.sleep(0.01)
    assert len(started) >= 3


def test_request_settings_are_read_from_the_iso_durations_the_sdk_sends() -> None:
    def record(settings: dict[str, object]) -> DeploymentRecord:
        return DeploymentRecord(
            "ep", "blue", {"requestSettings": settings}, {}, {}, "Succeeded", None, "", ""
        )

    assert RequestSettings.of(record({})) == RequestSettings(5000, 1, 500)  # Azure's defaults
    parsed = RequestSettings.of(
        record(
            {
                "requestTimeout": "PT1M30.5S",
                "maxConcurrentRequestsPerInstance": 4,
                "maxQueueWait": "PT0.25S",
            }
        )
    )
    assert parsed == RequestSettings(90500, 4, 250)
    with pytest.raises(BadArgument, match="request_timeout_ms is '5000', not an ISO 8601"):
        RequestSettings.of(record({"requestTimeout": "5000"}))
    with pytest.raises(BadArgument, match="max_concurrent_requests_per_instance must be"):
        RequestSettings.of(record({"maxConcurrentRequestsPerInstance": 0}))


@pytest.fixture
def endpoint(client: MLClient) -> Iterator[str]:
    """An online endpoint, deleted afterwards (its deployments' replicas stop with it)."""
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=ENDPOINT)).result()
    yield ENDPOINT
    client.online_endpoints.begin_delete(name=ENDPOINT).result()


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"data": [1, 2]}))
    return path

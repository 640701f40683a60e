"""A no-code Triton deployment runs in replicas like every online deployment, through the real
``azure-ai-ml`` and the real ``tritonclient``: ``instance_count`` replicas answer at once, each
under ``max_concurrent_requests_per_instance`` (the next request waits ``max_queue_wait_ms``,
then gets Azure's 429), a request over ``request_timeout_ms`` gets Azure's 408, a killed replica
is restarted and its crash shows in ``get_logs``, and ``/score`` is refused with where to go.
One deployment (two replicas) serves the whole module."""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from azure.ai.ml import MLClient
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from tritonclient.utils import InferenceServerException

from emulator.daemon.server import EmulatorServer
from emulator.faults import FaultState, online_deployment_faults
from emulator.services.deployment import Deployment
from emulator.services.online import online
from emulator.settings import BUILDER_ENV, ROOT_ENV, STRICT_ENV
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot
from tests.arm.conftest import point_the_client_at
from tests.arm.triton_support import repository

SUB = "11111111-2222-3333-4444-555555555555"
ENDPOINT = "trr"
#: The deployment's request settings: 1 request per instance, 100 ms in the queue, 1.5 s each.
TIMEOUT_MS = 1500
LEFT = np.arange(8, dtype=np.float32).reshape(2, 4)
RIGHT = np.full((2, 4), 0.5, dtype=np.float32)


@dataclass
class World:
    client: MLClient
    url: str
    headers: dict[str, str]
    live: Deployment

    def triton(self) -> httpclient.InferenceServerClient:
        """The official client at the scoring URI's base, one per thread (gevent's client is
        bound to the thread that made it)."""
        return httpclient.InferenceServerClient(
            url=self.url, ssl=True, ssl_options={"ca_certs": os.environ["SSL_CERT_FILE"]}
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A server of the module's own; endpoint ``trr`` whose deployment ``blue`` (two replicas of
    Triton's "simple" model) takes all traffic; the official client at its scoring URI's base."""
    root = tmp_path_factory.mktemp("triton-root")
    models = repository(tmp_path_factory.mktemp("triton-work"))
    with pytest.MonkeyPatch.context() as patch, EmulatorServer(EmulatorRoot(root)) as server:
        patch.setenv(ROOT_ENV, str(root))
        patch.delenv(STRICT_ENV, raising=False)
        patch.setenv(BUILDER_ENV, "host")  # replicas run on this interpreter: no installs
        point_the_client_at(server, patch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name=ENDPOINT)
        ).result()
        deployment = ManagedOnlineDeployment(
            name="blue",
            endpoint_name=ENDPOINT,
            model=Model(path=str(models), type=AssetTypes.TRITON_MODEL),
            instance_type="Standard_DS3_v2",
            instance_count=2,
            request_settings=OnlineRequestSettings(
                request_timeout_ms=TIMEOUT_MS,
                max_concurrent_requests_per_instance=1,
                max_queue_wait_ms=100,
            ),
        )
        created = client.online_deployments.begin_create_or_update(deployment).result()
        assert created.provisioning_state == "Succeeded"
        endpoint = client.online_endpoints.get(ENDPOINT)
        endpoint.traffic = {"blue": 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        uri = client.online_endpoints.get(ENDPOINT).scoring_uri
        key = client.online_endpoints.get_keys(ENDPOINT).primary_key
        state = workspace_states(EmulatorRoot(root)).get(SUB, "rg", "ws")
        assert state is not None
        live = online(root, state.id, ENDPOINT, "blue")
        assert live is not None
        url = uri[len("https://") : -len("/score")]
        yield World(client, url, {"Authorization": f"Bearer {key}"}, live)


def _infer(world: World) -> httpclient.InferResult:
    inputs = [
        httpclient.InferInput("INPUT0", [2, 4], "FP32"),
        httpclient.InferInput("INPUT1", [2, 4], "FP32"),
    ]
    inputs[0].set_data_from_numpy(LEFT)
    inputs[1].set_data_from_numpy(RIGHT)
    # a fresh dict per call: tritonclient writes Inference-Header-Content-Length into it
    return world.triton().infer("simple", inputs, headers=dict(world.headers))


def _in_flight(world: World, count: int) -> dict[str, int]:
    """The requests in flight per replica, once the deployment's gateway admitted ``count``."""
    assert world.live.route is not None
    deadline = time.monotonic() + 30
    while sum((in_flight := world.live.route.metrics().in_flight).values()) < count:
        assert time.monotonic() < deadline, "the requests were not admitted"
        time.sleep(0.01)
    return in_flight


def test_both_replicas_answer_at_once_and_the_next_request_gets_429(world: World) -> None:
    assert world.triton().is_model_ready("simple", headers=world.headers)
    assert len(world.live.containers()) == 2
    faults = online_deployment_faults(world.client, ENDPOINT, "blue")
    results: list[httpclient.InferResult] = []
    with faults.latency(0.5):  # each request holds its replica's one slot for 0.5 s
        threads = [threading.Thread(target=lambda: results.append(_infer(world))) for _ in "ab"]
        for thread in threads:
            thread.start()
        # one on each replica: 1 per instance x 2 instances
        assert sorted(_in_flight(world, 2).values()) == [1, 1]
        with pytest.raises(InferenceServerException) as refused:
            _infer(world)
        for thread in threads:
            thread.join()
    assert refused.value.status() == "429"
    assert "max_concurrent_requests_per_instance=1 x 2 instance(s)" in str(refused.value)
    assert len(results) == 2
    for result in results:
        np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), LEFT + RIGHT)


def test_a_request_over_request_timeout_ms_gets_408(world: World) -> None:
    faults = online_deployment_faults(world.client, ENDPOINT, "blue")
    with faults.latency(3.0), pytest.raises(InferenceServerException) as late:
        _infer(world)
    assert late.value.status() == "408"
    assert f"request_timeout_ms={TIMEOUT_MS}" in str(late.value)
    np.testing.assert_array_equal(_infer(world).as_numpy("OUTPUT1"), LEFT - RIGHT)


def test_a_killed_replica_is_restarted_and_its_crash_is_in_the_logs(world: World) -> None:
    first = world.live.containers()[0]
    killed = online_deployment_faults(world.client, ENDPOINT, "blue").kill(replica=0).wait(20)
    assert killed.state is FaultState.DONE
    deadline = time.monotonic() + 30
    while not (first.status.restart_count == 1 and first.ready):
        assert time.monotonic() < deadline, f"replica 0 did not come back: {first.status}"
        time.sleep(0.05)
    logs = world.client.online_deployments.get_logs("blue", ENDPOINT, lines=200)
    assert "[emulator] fault" in logs
    assert logs.count("successfully loaded 'simple' version 1") == 2  # loaded again
    np.testing.assert_array_equal(_infer(world).as_numpy("OUTPUT0"), LEFT + RIGHT)


def test_score_is_refused_with_where_triton_answers(world: World, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text("{}")
    with pytest.raises(HttpResponseError) as refused:
        world.client.online_endpoints.invoke(endpoint_name=ENDPOINT, request_file=str(request))
    assert refused.value.status_code == 404
    assert "answers the V2 inference protocol at the scoring URI's base" in str(refused.value)

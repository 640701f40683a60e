"""The gateway's routing and proxying: AKS paths for many services, ACI's single service,
unchanged answers from a real scoring server, load balancing, readiness, keep-alive."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_harness import Pool, ScoringServer, call, concurrently

from emulator.services import Gateway, Replica, ServiceSettings


def test_two_services_share_one_aks_gateway(replica_factory, gateway_factory) -> None:
    gateway = gateway_factory()
    gateway.add_service("alpha", Pool([replica_factory("a1")]))
    gateway.add_service("beta", Pool([replica_factory("b1")]))
    assert gateway.port > 0
    assert (
        gateway.scoring_uri("alpha")
        == f"http://127.0.0.1:{gateway.port}/api/v1/service/alpha/score"
    )
    assert gateway.swagger_uri("beta").endswith("/api/v1/service/beta/swagger.json")

    alpha = call(gateway.port, "/api/v1/service/alpha/score?x=1", body=b'{"data": 1}')
    assert alpha.status == 200 and alpha.reason == "OK"
    echoed = alpha.json()
    assert echoed["replica"] == "a1"
    assert echoed["target"] == "/score?x=1"
    assert echoed["body"] == '{"data": 1}'
    beta = call(gateway.port, "/api/v1/service/beta/swagger.json", "GET")
    assert beta.json()["replica"] == "b1" and beta.json()["target"] == "/swagger.json"
    assert call(gateway.port, "/api/v1/service/beta/score", "OPTIONS").json()["method"] == "OPTIONS"

    missing = call(gateway.port, "/api/v1/service/gamma/score")
    assert (missing.status, missing.text) == (404, "Service gamma not found")
    assert missing.header("Content-Type") == "text/plain; charset=utf-8"
    assert missing.header("x-ms-request-id")
    assert call(gateway.port, "/score").status == 404
    assert call(gateway.port, "/api/v1/service/alpha/other").status == 404

    gateway.remove_service("alpha")
    assert call(gateway.port, "/api/v1/service/alpha/score").status == 404
    assert gateway.service("beta").metrics().requests == 2


def test_aci_gateway_serves_one_service_at_score(replica_factory, gateway_factory) -> None:
    gateway = gateway_factory("aci")
    gateway.add_service("solo", Pool([replica_factory("s1")]), ServiceSettings.aci())
    assert gateway.scoring_uri("solo") == f"http://127.0.0.1:{gateway.port}/score"
    assert gateway.swagger_uri("solo") == f"http://127.0.0.1:{gateway.port}/swagger.json"
    assert call(gateway.port, "/score?a=b").json()["target"] == "/score?a=b"
    assert call(gateway.port, "/swagger.json", "GET").json()["target"] == "/swagger.json"
    assert call(gateway.port, "/", "GET").json()["target"] == "/"
    with pytest.raises(ValueError, match="exactly one service"):
        gateway.add_service("other", Pool())


def test_answers_of_the_real_scoring_server_pass_unchanged(tmp_path: Path, gateway_factory) -> None:
    server = ScoringServer(tmp_path)
    try:
        gateway = gateway_factory()
        gateway.add_service("echo", lambda: [Replica(id="r", port=server.port)])
        headers = {"Content-Type": "application/json", "x-ms-client-request-id": "client-7"}
        direct = call(server.port, "/score", body=b'{"a": 1}', headers=headers)
        proxied = call(
            gateway.port, "/api/v1/service/echo/score", body=b'{"a": 1}', headers=headers
        )
        assert (proxied.status, proxied.reason, proxied.body) == (200, "OK", b'"{\\"a\\": 1}"')
        assert (direct.status, direct.body) == (proxied.status, proxied.body)
        names = [k for k, _ in direct.headers if k not in ("Date", "x-ms-run-fn-exec-ms")]
        assert [k for k, _ in proxied.headers if k not in ("Date", "x-ms-run-fn-exec-ms")] == names
        assert proxied.header("x-ms-request-id") == "client-7"
        assert proxied.header("x-ms-server-version") == direct.header("x-ms-server-version")
        not_allowed = call(gateway.port, "/api/v1/service/echo/score", "PUT")
        assert not_allowed.status == 405  # the scoring server's own answer
        assert not_allowed.json() == {"message": "The method is not allowed for the requested URL."}
        swagger = call(gateway.port, "/api/v1/service/echo/swagger.json", "GET")
        assert swagger.status == 200 and "swagger" in swagger.json()
    finally:
        server.stop()


def test_requests_spread_over_ready_replicas(replica_factory, gateway_factory) -> None:
    first, second = replica_factory("r1"), replica_factory("r2")
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([first, second]))
    answers = [call(gateway.port, "/api/v1/service/svc/score").json()["replica"] for _ in range(6)]
    assert answers == ["r1", "r2"] * 3  # idle replicas take turns
    # concurrent requests go to the replica with fewer in flight
    slow = {"x-test-sleep": "0.3"}
    results = concurrently(
        [lambda: call(gateway.port, "/api/v1/service/svc/score", headers=slow)] * 2
    )
    assert sorted(answer.json()["replica"] for answer in results) == ["r1", "r2"]


def test_a_replica_that_is_not_ready_gets_no_traffic(replica_factory, gateway_factory) -> None:
    ready, starting = replica_factory("ready"), replica_factory("starting", ready=False)
    pool = Pool([starting, ready])
    gateway = gateway_factory()
    gateway.add_service("svc", pool)
    for _ in range(5):
        assert call(gateway.port, "/api/v1/service/svc/score").json()["replica"] == "ready"
    assert starting.hits == 0
    starting.ready = True
    seen = {call(gateway.port, "/api/v1/service/svc/score").json()["replica"] for _ in range(4)}
    assert seen == {"ready", "starting"}


def test_connections_to_replicas_are_kept_alive(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1")
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica]))
    for _ in range(10):
        assert call(gateway.port, "/api/v1/service/svc/score").status == 200
    assert replica.opened == 1


def test_headers_and_body_are_forwarded(replica_factory, gateway_factory) -> None:
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica_factory("r1")]))
    sent = {"Authorization": "Bearer whatever", "X-Custom": "v", "Content-Type": "text/plain"}
    echoed = call(gateway.port, "/api/v1/service/svc/score", body=b"x" * 100_000, headers=sent)
    headers = dict(echoed.json()["headers"])
    assert headers["Authorization"] == "Bearer whatever"  # auth off: passed on to run()
    assert headers["X-Custom"] == "v" and headers["Content-Length"] == "100000"
    assert echoed.json()["body"] == "x" * 100_000


def test_a_vanished_replica_gives_502(replica_factory, gateway_factory) -> None:
    replica = replica_factory("r1")
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica]))
    assert call(gateway.port, "/api/v1/service/svc/score").status == 200
    replica.stop()
    answer = call(gateway.port, "/api/v1/service/svc/score")
    assert answer.status == 502
    assert answer.header("x-amlemu-hint")


def test_gateway_runs_on_an_existing_event_loop(replica_factory) -> None:
    import asyncio

    replica = replica_factory("r1")

    async def main() -> tuple[int, int]:
        gateway = Gateway()
        gateway.add_service("svc", Pool([replica]))
        port = await gateway.open()
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, call, port, "/api/v1/service/svc/score")
        await gateway.close()
        return port, answer.status

    port, status = asyncio.run(main())
    assert port > 0 and status == 200


@pytest.mark.parametrize("mode", ["aks", "aci"])
def test_counters_are_reported_at_the_emulators_own_route(
    mode, replica_factory, gateway_factory
) -> None:
    gateway = gateway_factory(mode)
    slow = replica_factory("slow", delay=0.05)
    gateway.add_service("meter", Pool([slow, replica_factory("idle", ready=False)]))
    path = "/score" if mode == "aci" else "/api/v1/service/meter/score"
    for _ in range(3):
        assert call(gateway.port, path).status == 200
    answer = call(gateway.port, "/.amlemu/metrics", "GET")
    assert answer.status == 200 and answer.header("Content-Type") == "application/json"
    counters = answer.json()["meter"]
    assert counters["statuses"] == {"200": 3} and counters["scored"] == 3
    assert 0.15 <= counters["scoringSeconds"] < 3  # three answers of at least 50 ms each
    assert (counters["replicas"], counters["ready"]) == (2, 1)
    assert counters["inFlight"] == 0 and counters["waiting"] == 0
    # only GET is the emulator's; other methods go where they always went
    assert call(gateway.port, "/.amlemu/metrics").status == (200 if mode == "aci" else 404)

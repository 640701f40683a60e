"""One service behind the gateway: auth, admission, forwarding, counters and its autoscaler.

``/score`` (any method; the scoring server answers what it does not support) is checked
against the service's auth (except ``OPTIONS``, which browsers send without credentials), then
admitted through the concurrency gate and forwarded with the body and end-to-end headers; the
replica's status, headers and body come back unchanged (hop-by-hop headers and ``Date`` are
the front end's own). ``/swagger.json`` needs no credentials and takes no concurrency slot, as
it is not a scoring call. A streamed (chunked) answer is read to its end and sent whole, with a
``Content-Length``, as Azure's ACI and AKS front ends deliver it; with ``streams`` (a local
service, which has no front end in Azure) its chunks are passed on as they arrive, and the
replica's concurrency slot is held until the last one. All of this runs on the gateway's event
loop; the methods meant for other threads say so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

from emulator.server.messages import HttpRequest, HttpResponse
from emulator.server.streaming import StreamedResponse
from emulator.services import responses
from emulator.services.admission import AdmissionGate, Overloaded
from emulator.services.auth import ServiceAuth
from emulator.services.autoscaler import Autoscaler, LoadSample
from emulator.services.client import ReplicaClient, ReplicaClosed
from emulator.services.metrics import MetricsSnapshot, ServiceCounters
from emulator.services.replicas import Replica, ReplicaProvider, as_callable
from emulator.services.settings import ServiceSettings

if TYPE_CHECKING:
    from emulator.services.injection.front import FrontFaults

#: ``scale(n)``: make the service run ``n`` replicas. A plain function runs in a worker thread
#: (it may block while replicas start); a coroutine function runs on the gateway's loop.
ScaleCallback = Callable[[int], "Awaitable[None] | None"]

log = logging.getLogger("amlemu.gateway")
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)
T = TypeVar("T")


class ServiceRoute:
    """A service's front: create through :meth:`Gateway.add_service`."""

    def __init__(
        self,
        name: str,
        replicas: ReplicaProvider,
        settings: ServiceSettings | None = None,
        auth: ServiceAuth | None = None,
        scale: ScaleCallback | None = None,
        *,
        streams: bool = False,
    ) -> None:
        """``streams``: pass streamed answers on chunk by chunk instead of whole."""
        self.name = name
        self.streams = streams
        self.settings = settings or ServiceSettings()
        self.auth = auth or ServiceAuth()
        self.replicas = as_callable(replicas)
        self.counters = ServiceCounters()
        self.gate = AdmissionGate(
            self.replicas, lambda: self.settings.replica_max_concurrent_requests
        )
        self.autoscaler: Autoscaler | None = Autoscaler(self, scale) if scale is not None else None
        self._clients: dict[tuple[str, int], ReplicaClient] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._autoscaling: asyncio.Task[None] | None = None
        #: Injected faults (status, latency, drop, token expiry), consulted per scoring request.
        self.faults: FrontFaults | None = None
        #: A path prefix whose requests are scoring requests too (a Triton deployment's ``/v2``).
        self.scoring_prefix: str | None = None

    def scores(self, path: str) -> bool:
        """Whether a request for ``path`` is a scoring request (auth, gate, timeout, faults)."""
        prefix = self.scoring_prefix
        if path == "/score":
            return True
        return prefix is not None and (path == prefix or path.startswith(prefix + "/"))

    # for any thread

    def configure(self, settings: ServiceSettings) -> None:
        """New settings (limits, timeouts, autoscale bounds) take effect for the next request."""
        self.settings = settings
        self.notify()

    def notify(self) -> None:
        """Replicas changed (one became ready, more were added): let waiting requests in now."""
        self._on_loop(self.gate.notify)

    def metrics(self) -> MetricsSnapshot:
        counters = self.counters
        replicas, ready = self._replica_counts()
        return MetricsSnapshot(
            requests=counters.requests,
            statuses=dict(counters.statuses),
            overloaded=counters.overloaded,
            timeouts=counters.timeouts,
            unauthorized=counters.unauthorized,
            in_flight=self.gate.in_flight,
            waiting=self.gate.waiting,
            scored=counters.scored,
            scoring_seconds=counters.scoring_seconds,
            replicas=replicas,
            ready=ready,
        )

    def load_sample(self) -> LoadSample:
        """Average demand (in flight + waiting) since the last sample, and the replica count."""
        replicas, ready = self._replica_counts()
        return LoadSample(demand=self.gate.meter.take_average(), replicas=replicas, ready=ready)

    def _replica_counts(self) -> tuple[int, int]:
        """How many replicas the service has, and how many of them are ready."""
        replicas = list(self.replicas())
        return len(replicas), sum(replica.ready for replica in replicas)

    # lifecycle, on the loop

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if self.autoscaler is not None and self._autoscaling is None:
            self._autoscaling = loop.create_task(self.autoscaler.run())

    async def aclose(self) -> None:
        if self._autoscaling is not None:
            self._autoscaling.cancel()
            await asyncio.gather(self._autoscaling, return_exceptions=True)
            self._autoscaling = None
        self.gate.close()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._loop = None

    def _on_loop(self, function: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            function()
        else:
            loop.call_soon_threadsafe(function)

    def call(self, coroutine: Awaitable[T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the gateway's loop from another thread and wait for it."""
        assert self._loop is not None, "the gateway is not running"
        future: Future[T] = asyncio.run_coroutine_threadsafe(_wrap(coroutine), self._loop)
        return future.result(timeout)

    # requests

    async def handle(self, request: HttpRequest, endpoint: str, target: str) -> HttpResponse | None:
        """Answer ``request`` for ``endpoint`` (``score``; anything else, such as
        ``swagger.json``, passes without auth or gate); ``target`` is the path and query to
        send to the replica. ``None``: drop the connection unanswered (an injected fault)."""
        self.counters.requests += 1
        if endpoint == "score":
            started = time.perf_counter()
            response = await self._score(request, target)
            if response is not None:
                self.counters.scored += 1
                self.counters.scoring_seconds += time.perf_counter() - started
        else:
            response = await self._passthrough(request, target)
        if response is None:
            return None
        self.counters.statuses[response.status] += 1
        return responses.ensure_request_id(request, response)

    async def _score(self, request: HttpRequest, target: str) -> HttpResponse | None:
        faults = self.faults
        if request.method != "OPTIONS":
            refusal = self.auth.check(request.header("authorization"))
            if refusal is None and faults is not None:
                refusal = faults.token_refusal(request.header("authorization"))
            if refusal is not None:
                self.counters.unauthorized += 1
                return responses.unauthorized(refusal[1])
        plan = faults.plan() if faults is not None else None
        if plan is not None and (plan.drop or plan.response is not None):
            return plan.response
        settings = self.settings
        try:
            replica = await self.gate.acquire(settings.max_request_wait_time / 1000)
        except Overloaded as overloaded:
            self.counters.overloaded += 1
            if overloaded.no_ready:
                return responses.no_ready_replicas(self.name)
            return responses.overloaded(
                self.name, settings.replica_max_concurrent_requests, settings.max_request_wait_time
            )
        response: HttpResponse | None = None
        if replica.path is not None:  # a custom container's scoring_route
            query = target.partition("?")[2]
            target = f"{replica.path}?{query}" if query else replica.path
        try:
            if plan is not None and plan.delay:
                response = await self._delayed(plan.delay, replica, request, target)
            else:
                response = await self._forward(
                    replica, request, target, settings.scoring_timeout_ms
                )
            return response
        finally:
            if isinstance(response, StreamedResponse):  # the replica is busy until its end
                response.chunks.when_ended(lambda: self.gate.release(replica))
            else:
                self.gate.release(replica)

    async def _delayed(
        self, delay: float, replica: Replica, request: HttpRequest, target: str
    ) -> HttpResponse:
        """An injected slow ``run()``: the delay holds the replica's slot and counts against
        ``scoring_timeout_ms``."""

        async def slow() -> HttpResponse:
            await asyncio.sleep(delay)
            return await self._forward(replica, request, target, None)

        timeout_ms = self.settings.scoring_timeout_ms
        try:
            return await asyncio.wait_for(slow(), None if timeout_ms is None else timeout_ms / 1000)
        except asyncio.TimeoutError:
            self.counters.timeouts += 1
            assert timeout_ms is not None
            return responses.scoring_timeout(self.name, timeout_ms)

    async def _passthrough(self, request: HttpRequest, target: str) -> HttpResponse:
        replica = self.gate.pick()
        if replica is None:
            self.counters.overloaded += 1
            return responses.no_ready_replicas(self.name)
        return await self._forward(replica, request, target, self.settings.scoring_timeout_ms)

    async def _forward(
        self, replica: Replica, request: HttpRequest, target: str, timeout_ms: int | None
    ) -> HttpResponse:
        client = self._client(replica)
        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        timeout = None if timeout_ms is None else timeout_ms / 1000
        try:
            answer = await client.request(
                request.method, target, headers, request.body, timeout, stream=self.streams
            )
        except asyncio.TimeoutError:
            self.counters.timeouts += 1
            assert timeout_ms is not None
            return responses.scoring_timeout(self.name, timeout_ms)
        except ReplicaClosed as closed:
            log.warning("service %s, replica %s: %s", self.name, replica.id, closed)
            if closed.answered:  # the front end holds a partial answer: it cannot pass it on
                return responses.front_response(
                    502,
                    f"Replica of service {self.name} cut its answer off before the end",
                    "a streamed body (a generator in an AMLResponse) raised, or the replica "
                    "stopped mid-answer: see the service's get_logs()",
                )
            return responses.replica_failed(self.name)
        names = {name.lower() for name, _ in answer.headers}
        chunked = "transfer-encoding" in names
        answer.headers = [(name, value) for name, value in answer.headers if _kept(name, chunked)]
        return answer

    def _client(self, replica: Replica) -> ReplicaClient:
        key = (replica.host, replica.port)
        client = self._clients.get(key)
        if client is None:
            if len(self._clients) > 64:
                self._prune_clients()
            client = self._clients[key] = ReplicaClient(replica.host, replica.port)
        return client

    def _prune_clients(self) -> None:
        current = {(replica.host, replica.port) for replica in self.replicas()}
        for key in [key for key in self._clients if key not in current]:
            self._clients.pop(key).close()


def _kept(name: str, chunked: bool) -> bool:
    """Whether a replica's answer header is passed on (``Content-Length`` unless the body came
    chunked: the front end sends the reassembled body with its own length)."""
    lowered = name.lower()
    if lowered == "content-length":
        return not chunked
    return lowered not in HOP_BY_HOP and lowered != "date"


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable

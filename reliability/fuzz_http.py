"""Bad input through the gateway: property-based fuzzing of ``/score`` plus the hostile clients
a fuzzer does not produce by chance (slowloris, header floods, oversized bodies).

Property, for every case: an answer arrives within the deadline and its status is below 500 —
the gateway's own limits (413, 408, 431, 414, 400), the server's (400, 405, 415) or the
script's validation (400, 415) — and the service keeps answering well-formed requests.

The fuzzer runs until a given number of *distinct* bad requests (counted by the SHA-256 of their
bytes) were refused with a 4xx, in rounds of Hypothesis with seeds 0, 1, 2, ...: deterministic,
and a count that neither repeats nor the generated requests that happen to be well-formed (200)
inflate.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from reliability.world import MAX_BODY_BYTES, PAYLOAD, READ_TIMEOUT, World

DEADLINE_S = 10.0
#: Rounds that add no new distinct request before the fuzzer gives up short of its target.
STALE_ROUNDS = 3
#: Cases per round at least: Hypothesis opens every run with its simplest case, the same
#: whatever the seed, so rounds of a handful of cases would repeat themselves.
MIN_ROUND = 100
_TOKEN = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"),
    min_size=1,
    max_size=20,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
BODIES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(lambda text: text.encode("utf-8", "surrogatepass")),
    _JSON.map(lambda value: repr({"data": value}).encode()),  # Python, not JSON
    _JSON.map(lambda value: json.dumps({"data": value}).encode()),
    st.integers(1, 20000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 20000).map(lambda depth: b'{"data":' + b"[" * depth + b"]" * depth + b"}"),
    st.binary(min_size=1, max_size=64).map(lambda b: b"\xff\xfe" + b),  # invalid UTF-8
    st.just(PAYLOAD),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "\u00e9/\u00e9",
    ]
)
METHODS = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])


class Probe:
    """Sends raw requests to the gateway and checks the property."""

    def __init__(self, world: World) -> None:
        url = urlsplit(world.service.scoring_uri)
        self.host, self.port, self.path = url.hostname or "127.0.0.1", url.port or 80, url.path
        self.key = world.key
        self.statuses: Counter[str] = Counter()
        self.cases = 0
        self.sent: set[bytes] = set()  # SHA-256 of every request's bytes
        self.refused: set[bytes] = set()  # ... of those answered with a 4xx
        self.problems: list[str] = []

    def raw(self, data: bytes, pause: float = 0.0, chunks: list[bytes] | None = None) -> str:
        """Send ``data`` (then ``chunks``, ``pause`` s apart); the status, or why none came."""
        self.cases += 1
        digest = hashlib.sha256(data)
        for chunk in chunks or []:
            digest.update(chunk)
        key = digest.digest()
        self.sent.add(key)
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.port), timeout=DEADLINE_S) as sock:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    sock.sendall(data)  # the gateway may answer and close before all is sent
                    for chunk in chunks or []:
                        time.sleep(pause)
                        sock.sendall(chunk)
                answer = b""
                while b"\r\n" not in answer:
                    more = sock.recv(4096)
                    if not more:
                        break
                    answer += more
        except TimeoutError:
            return self._record("hang", started)
        except OSError as error:
            return self._record(f"error:{type(error).__name__}", started)
        parts = answer.split(b" ", 2)
        status = parts[1].decode("latin-1") if len(parts) > 1 else "no answer"
        if status.isdigit() and 400 <= int(status) < 500:
            self.refused.add(key)
        return self._record(status, started)

    def request(
        self,
        method: str,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        auth: bool = True,
    ) -> str:
        lines = [f"{method} {self.path} HTTP/1.1", f"Host: {self.host}", "Connection: close"]
        if auth:
            lines.append(f"Authorization: Bearer {self.key}")
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass")
        return self.raw(head + body)

    def _record(self, status: str, started: float) -> str:
        self.statuses[status] += 1
        if not status.isdigit() or int(status) >= 500:
            self.problems.append(f"{status} after {time.monotonic() - started:.2f} s")
        return status

    def healthy(self) -> bool:
        return self.request("POST", PAYLOAD, "application/json", {}) == "200"


def fuzz_gateway(world: World, refused: int) -> dict[str, Any]:
    """Fuzz until ``refused`` different bad requests were refused (fewer only if Hypothesis
    runs dry: then ``ok`` is false), then the hostile clients; the property holds for each."""
    probe = Probe(world)
    crash = None
    rounds = stale = 0
    while len(probe.refused) < refused and stale < STALE_ROUNDS and crash is None:
        before = len(probe.refused)
        crash = _fuzz_round(probe, rounds, max(MIN_ROUND, refused - before))
        rounds += 1
        stale = stale + 1 if len(probe.refused) == before else 0
    fuzzed = len(probe.refused)
    special = _hostile_clients(probe)
    sent, bad = len(probe.sent), len(probe.refused)  # before the (good) health check
    healthy = probe.healthy()
    crashes = (crash is not None) + len(probe.problems) + (not healthy)
    return {
        "cases": probe.cases,
        "distinct": sent,
        "distinct_refused": bad,
        "rounds": rounds,
        "statuses": dict(sorted(probe.statuses.items())),
        "hostile": special,
        "counterexample": crash,
        "problems": probe.problems[:10],
        "healthy_after": healthy,
        "crashes": crashes,
        "ok": crashes == 0 and fuzzed >= refused,
    }


def _fuzz_round(probe: Probe, round_seed: int, examples: int) -> str | None:
    """One Hypothesis run of ``examples`` cases with seed ``round_seed``; the shrunk
    counterexample if the property failed (recorded: the run goes on to the hostile clients)."""

    @seed(round_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        method=METHODS,
        body=BODIES,
        content_type=CONTENT_TYPES,
        headers=st.dictionaries(_TOKEN, _TOKEN, max_size=5),
        auth=st.sampled_from([True, True, True, False]),
    )
    def property_holds(
        method: str, body: bytes, content_type: str | None, headers: dict[str, str], auth: bool
    ) -> None:
        status = probe.request(method, body, content_type, headers, auth)
        assert status.isdigit() and int(status) < 500, status

    try:
        property_holds()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return None


def _hostile_clients(probe: Probe) -> dict[str, str]:
    """Cases a fuzzer would not hit by chance; each must get the named 4xx."""
    head = f"POST {probe.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {probe.key}\r\n"
    flood = "".join(f"X-Flood-{n}: {n}\r\n" for n in range(200))
    results = {
        "oversized_body_413": probe.raw(
            (head + f"Content-Length: {MAX_BODY_BYTES * 4}\r\n\r\n").encode() + b"x" * 65536
        ),
        "oversized_chunked_413": probe.raw(
            (head + "Transfer-Encoding: chunked\r\n\r\n").encode(),
            chunks=[b"4000\r\n" + b"y" * 0x4000 + b"\r\n"] * (MAX_BODY_BYTES // 0x4000 + 2),
        ),
        "slowloris_408": probe.raw(
            head.encode(), pause=READ_TIMEOUT / 4, chunks=[b"X-Slow: 1\r\n"] * 8
        ),
        "header_flood_431": probe.raw((head + flood + "\r\n").encode()),
        "huge_header_431": probe.raw((head + "X-Big: " + "b" * 9000 + "\r\n\r\n").encode()),
        "long_request_line_414": probe.raw(
            f"GET {probe.path}?{'q' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        ),
        "garbage_400": probe.raw(b"\x00\x01\x02 NOT HTTP\r\n\r\n"),
        "bad_chunk_400": probe.raw(
            (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"zz\r\nxx\r\n"
        ),
    }
    for name, status in results.items():
        if status != name.rsplit("_", 1)[1]:
            probe.problems.append(f"{name}: got {status}")
    return results

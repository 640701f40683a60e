"""The fault model and store: validation, ids, events, caching, safety across processes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from emulator.faults import FaultError, FaultKind, FaultState, ServiceFaults, WorkspaceFaults
from emulator.faults.model import new_fault
from emulator.faults.store import FaultStore
from emulator.services.auth import ServiceAuth
from emulator.services.injection.front import FAULT_HEADER, FrontFaults, Plan


@pytest.mark.parametrize(
    ("kind", "parameters", "message"),
    [
        ("explode", {}, "Unknown fault kind 'explode'. Kinds: status, latency"),
        ("status", {}, "needs an HTTP error status to answer, 4xx or 5xx"),
        ("status", {"status": 200}, "not 200"),
        ("status", {"status": 503, "share": 0}, "share is the fraction of requests affected"),
        ("status", {"status": 503, "share": 1.5}, "not 1.5"),
        ("status", {"status": 503, "times": 2}, "takes status, share, seed, not times"),
        ("latency", {}, "needs the delay in seconds"),
        ("latency", {"seconds": "slow"}, "seconds must be a number, not 'slow'"),
        ("latency", {"seconds": float("nan")}, "must be a finite number"),
        ("kill", {"replica": -1}, "replica is the index of a replica"),
        ("kill", {"replica": 1.5}, "replica must be a whole number"),
        ("init-failure", {"times": 0}, "times is how many attempts fail"),
        ("token-expiry", {"seconds": -1}, "Token expiry takes a token age of 0 s or more"),
    ],
)
def test_bad_faults_are_refused_with_the_fix(
    kind: str, parameters: dict[str, object], message: str
) -> None:
    with pytest.raises(FaultError, match=message.replace("(", r"\(").replace(")", r"\)")):
        new_fault(kind, 0.0, **parameters)


def test_defaults_and_descriptions() -> None:
    assert new_fault("drop", 0.0).describe() == "drop the connection of every scoring request"
    status = new_fault("status", 0.0, status=503, share=0.25, seed=3)
    assert status.describe() == "answer 503 to every scoring request of 25% (seed 3)"
    assert new_fault("kill", 0.0).replica == 0
    init = new_fault("init-failure", 0.0)
    assert (init.times, init.state, init.remaining) == (1, FaultState.PENDING, 1)
    assert new_fault("token-expiry", 0.0).seconds == 0.0


def test_store_ids_events_take_and_cache(tmp_path: Path) -> None:
    faults = ServiceFaults(tmp_path, 1, "svc")
    first = faults.status(503)
    second = faults.fail_init(times=2)
    assert (first.id, second.id) == ("f1", "f2")
    reader = FaultStore.for_service(tmp_path, 1, "svc")  # another reader (as another process)
    assert [f.id for f in reader.faults()] == ["f1", "f2"]
    assert reader.faults() is reader.faults()  # cached while the file is unchanged

    taken = reader.take(FaultKind.INIT_FAILURE)
    assert taken is not None and (taken.used, taken.state) == (1, FaultState.PENDING)
    taken = reader.take(FaultKind.INIT_FAILURE)
    assert taken is not None and taken.state is FaultState.DONE
    assert reader.take(FaultKind.INIT_FAILURE) is None
    assert second.state is FaultState.DONE

    with faults.drop() as dropped:
        assert dropped.state is FaultState.ACTIVE
    assert [f.id for f in faults.list()] == ["f1", "f2"]
    assert [f.id for f in faults.clear()] == ["f1", "f2"]
    events = [(e["fault"], e["event"]) for e in reader.events()]
    assert events == [
        ("f1", "injected"),
        ("f2", "injected"),
        ("f3", "injected"),
        ("f3", "removed"),
        ("f1", "removed"),
        ("f2", "removed"),
    ]
    assert faults.drop().id == "f4"  # ids are never reused


def test_targets_are_checked(tmp_path: Path) -> None:
    for name in ("../escape", "/abs", "a/b", "x\0y", "_workspace", "", "a\n"):
        with pytest.raises(FaultError, match="is not a service name"):
            ServiceFaults(tmp_path, 1, name)
    with pytest.raises(FaultError, match="A kill fault is injected into a service, not here"):
        WorkspaceFaults(tmp_path, 1).inject("kill")
    with pytest.raises(FaultError, match="injected into the workspace"):
        ServiceFaults(tmp_path, 1, "svc").inject("image-build")


def test_a_broken_file_names_the_fix(tmp_path: Path) -> None:
    faults = ServiceFaults(tmp_path, 1, "svc")
    faults.drop()
    (tmp_path / "faults" / "1" / "svc.json").write_text("{not json")
    with pytest.raises(FaultError, match="Delete it to clear the faults"):
        faults.list()


def test_concurrent_writers_in_several_processes_lose_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from emulator.faults import ServiceFaults
        faults = ServiceFaults({str(tmp_path)!r}, 1, "svc")
        for _ in range(20):
            faults.drop()
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert all(writer.wait(60) == 0 for writer in writers)
    ids = [fault.id for fault in ServiceFaults(tmp_path, 1, "svc").list()]
    assert sorted(ids, key=lambda i: int(i[1:])) == [f"f{n}" for n in range(1, 81)]
    data = json.loads((tmp_path / "faults" / "1" / "svc.json").read_text())
    assert len(data["events"]) == 80


def test_front_faults_are_deterministic_per_seed(tmp_path: Path) -> None:
    faults = ServiceFaults(tmp_path, 1, "svc")
    faults.status(502, share=0.3, seed=42)
    generator = random.Random(42)
    expected = [generator.random() < 0.3 for _ in range(200)]
    for _ in range(2):  # two gateways (or two runs) see the same sequence
        front = FrontFaults(FaultStore.for_service(tmp_path, 1, "svc"), "svc")
        hits = [front.plan().response is not None for _ in range(200)]
        assert hits == expected
    faults.clear()
    with faults.status(503):
        response = front.plan().response
        assert response is not None and response.status == 503
        assert response.body == b"Too many requests for service svc (overloaded)"
        assert (FAULT_HEADER, "f2") in response.headers
    with faults.latency(0.25), faults.latency(0.5, share=1.0):
        assert front.plan().delay == pytest.approx(0.75)
    with faults.drop(), faults.status(504):
        assert front.plan().drop  # a dropped connection gets nothing at all
    assert front.plan() == Plan()


def test_token_expiry_applies_to_tokens_only(tmp_path: Path) -> None:
    auth = ServiceAuth("token")
    token = f"Bearer {auth.issue_access_token().access_token}"
    front = FrontFaults(FaultStore.for_service(tmp_path, 1, "svc"), "svc")
    faults = ServiceFaults(tmp_path, 1, "svc")
    assert front.token_refusal(token) is None
    with faults.expire_tokens():
        assert front.token_refusal(token) == (401, "Unauthorized, token expired")
        assert front.token_refusal(f"Bearer {auth.primary_key}") is None  # a key: not a token
    with faults.expire_tokens(after_seconds=3600):
        assert front.token_refusal(token) is None

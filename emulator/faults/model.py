"""What a fault is: its kind, its parameters, and when it acts.

Faults are plain records (JSON in the fault store) so that any process can inject one and the
process hosting the service applies it. Kinds fall into four families by when they act:

- *front* faults (``status``, ``latency``, ``drop``, ``token-expiry``) act on each scoring
  request at the gateway for as long as they are present;
- *start* faults (``init-failure``) act on the next ``times`` replica starts;
- *replica actions* (``kill``, ``pause``, ``memory``) act once on one live replica;
- *workspace* faults (``image-build``, ``provisioning``) fail the next ``times`` image builds or
  AKS cluster creations of the workspace.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from enum import Enum
from http import HTTPStatus
from typing import Any

from emulator.errors import UserErrorException


class FaultKind(str, Enum):
    STATUS = "status"
    LATENCY = "latency"
    DROP = "drop"
    TOKEN_EXPIRY = "token-expiry"
    INIT_FAILURE = "init-failure"
    KILL = "kill"
    PAUSE = "pause"
    MEMORY = "memory"
    IMAGE_BUILD = "image-build"
    PROVISIONING = "provisioning"

    def __str__(self) -> str:
        return self.value


FRONT_KINDS = frozenset(
    {FaultKind.STATUS, FaultKind.LATENCY, FaultKind.DROP, FaultKind.TOKEN_EXPIRY}
)
ACTION_KINDS = frozenset({FaultKind.KILL, FaultKind.PAUSE, FaultKind.MEMORY})
WORKSPACE_KINDS = frozenset({FaultKind.IMAGE_BUILD, FaultKind.PROVISIONING})
COUNTED_KINDS = frozenset({FaultKind.INIT_FAILURE, *WORKSPACE_KINDS})
SERVICE_KINDS = frozenset(set(FaultKind) - WORKSPACE_KINDS)

#: The parameters each kind takes (anything else is refused, naming the ones that apply).
PARAMETERS: dict[FaultKind, tuple[str, ...]] = {
    FaultKind.STATUS: ("status", "share", "seed"),
    FaultKind.LATENCY: ("seconds", "share", "seed"),
    FaultKind.DROP: ("share", "seed"),
    FaultKind.TOKEN_EXPIRY: ("seconds",),
    FaultKind.INIT_FAILURE: ("times",),
    FaultKind.KILL: ("replica",),
    FaultKind.PAUSE: ("replica",),
    FaultKind.MEMORY: ("replica",),
    FaultKind.IMAGE_BUILD: ("times",),
    FaultKind.PROVISIONING: ("times",),
}
MAX_LATENCY_SECONDS = 3600.0
_ERROR_STATUSES = frozenset(int(status) for status in HTTPStatus if 400 <= status <= 599)


class FaultError(UserErrorException):
    """A fault that cannot be injected as asked (the message says what to pass instead)."""


class FaultState(str, Enum):
    ACTIVE = "active"  #: a front fault, acting on requests until removed
    PENDING = "pending"  #: an action or counted fault waiting for its moment
    DONE = "done"  #: applied (actions) or used up (counted faults)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Fault:
    """One injected fault. ``id`` is given by the store (``f1``, ``f2``, ... per target)."""

    id: str
    kind: FaultKind
    state: FaultState
    created: float
    status: int | None = None
    share: float = 1.0
    seed: int = 0
    seconds: float | None = None
    times: int | None = None
    used: int = 0
    replica: int | None = None
    detail: str | None = None

    @property
    def remaining(self) -> int:
        """Uses left of a counted fault (0 for the other kinds)."""
        return max(0, (self.times or 0) - self.used)

    def describe(self) -> str:
        """What the fault does, in words (the log lines and ``amlemu faults list`` use it)."""
        share = "" if self.share >= 1 else f" of {self.share:.0%}"
        seeded = f" (seed {self.seed})" if self.share < 1 else ""
        kind = self.kind
        if kind is FaultKind.STATUS:
            return f"answer {self.status} to every scoring request{share}{seeded}"
        if kind is FaultKind.LATENCY:
            return f"delay every scoring request{share} by {self.seconds:g} s{seeded}"
        if kind is FaultKind.DROP:
            return f"drop the connection of every scoring request{share}{seeded}"
        if kind is FaultKind.TOKEN_EXPIRY:
            return f"treat tokens older than {self.seconds:g} s as expired"
        if kind is FaultKind.INIT_FAILURE:
            return f"make init() fail on the next {self.times} replica start(s)"
        if kind in ACTION_KINDS:
            verb = {
                FaultKind.KILL: "kill (SIGKILL)",
                FaultKind.PAUSE: "pause (SIGSTOP, until liveness restarts it)",
                FaultKind.MEMORY: "exhaust the memory of (OOMKilled)",
            }[kind]
            return f"{verb} replica {self.replica}"
        target = "image build" if kind is FaultKind.IMAGE_BUILD else "AKS cluster provisioning"
        return f"fail the next {self.times} {target}(s)"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"], data["state"] = self.kind.value, self.state.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        fields = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        fields["kind"] = FaultKind(fields["kind"])
        fields["state"] = FaultState(fields["state"])
        return cls(**fields)


def parse_kind(kind: FaultKind | str) -> FaultKind:
    try:
        return FaultKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise FaultError(f"Unknown fault kind {kind!r}. Kinds: {known}.") from None


def new_fault(kind: FaultKind | str, created: float, **parameters: Any) -> Fault:
    """A validated fault of ``kind`` with ``parameters`` (``None`` values mean "default")."""
    kind = parse_kind(kind)
    given = {name: value for name, value in parameters.items() if value is not None}
    allowed = PARAMETERS[kind]
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise FaultError(
            f"A {kind} fault takes {', '.join(allowed) or 'no parameters'}, not {', '.join(extra)}."
        )
    state = FaultState.ACTIVE if kind in FRONT_KINDS else FaultState.PENDING
    fault = Fault(id="", kind=kind, state=state, created=created)
    if kind is FaultKind.STATUS:
        status = _integer(given, "status", None)
        if status is None or status not in _ERROR_STATUSES:
            raise FaultError(
                "A status fault needs an HTTP error status to answer, 4xx or 5xx (502, 503, 504 "
                f"and 429 are what Azure's front ends send), not {given.get('status')!r}."
            )
        fault = replace(fault, status=status)
    if kind is FaultKind.LATENCY:
        seconds = _number(given, "seconds", None)
        if seconds is None or not 0 < seconds <= MAX_LATENCY_SECONDS:
            raise FaultError(
                f"A latency fault needs the delay in seconds, more than 0 and at most "
                f"{MAX_LATENCY_SECONDS:g}, not {given.get('seconds')!r}."
            )
        fault = replace(fault, seconds=seconds)
    if kind is FaultKind.TOKEN_EXPIRY:
        seconds = _number(given, "seconds", 0.0)
        if seconds is None or seconds < 0:
            raise FaultError(f"Token expiry takes a token age of 0 s or more, not {seconds!r}.")
        fault = replace(fault, seconds=seconds)
    if "share" in allowed:
        share = _number(given, "share", 1.0)
        if share is None or not 0 < share <= 1:
            raise FaultError(
                f"share is the fraction of requests affected, more than 0 and at most 1 "
                f"(0.5: half of them), not {given.get('share')!r}."
            )
        fault = replace(fault, share=share, seed=_integer(given, "seed", 0) or 0)
    if kind in COUNTED_KINDS:
        times = _integer(given, "times", 1)
        if times is None or times < 1:
            raise FaultError(f"times is how many attempts fail, 1 or more, not {times!r}.")
        fault = replace(fault, times=times)
    if kind in ACTION_KINDS:
        replica = _integer(given, "replica", 0)
        if replica is None or replica < 0:
            raise FaultError(
                f"replica is the index of a replica (0 for the first), not {replica!r}."
            )
        fault = replace(fault, replica=replica)
    return fault


def _number(given: dict[str, Any], name: str, default: float | None) -> float | None:
    value = given.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FaultError(f"{name} must be a number, not {value!r}.")
    try:
        number = float(value)
    except ValueError:
        raise FaultError(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(number):
        raise FaultError(f"{name} must be a finite number, not {value!r}.")
    return number


def _integer(given: dict[str, Any], name: str, default: int | None) -> int | None:
    value = given.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool):
        raise FaultError(f"{name} must be a whole number, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FaultError(f"{name} must be a whole number, not {value!r}.") from None
    if isinstance(value, float) and value != number:
        raise FaultError(f"{name} must be a whole number, not {value!r}.")
    return number

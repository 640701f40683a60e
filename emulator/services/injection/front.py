"""Front faults, decided per scoring request on the gateway: status, latency, drop, token expiry.

The service's route asks :meth:`FrontFaults.plan` on every ``/score`` request (an SDK v2 online
deployment's gateway too: there the front end is the endpoint's, so a status fault is answered
as the deployment's replicas would answer it); it costs one
``stat`` of the fault file while nothing changes. Which requests a ``share`` hits is drawn
from a generator seeded with the fault's ``seed``, one per fault, so a given sequence of
requests meets the same faults on every run.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from emulator.faults.model import Fault, FaultKind, FaultState
from emulator.faults.store import FaultStore
from emulator.server.messages import HttpResponse
from emulator.services import responses

FAULT_HEADER = "x-amlemu-fault"


@dataclass(frozen=True)
class Plan:
    """What the faults do to one request: drop it, answer it, or delay it (seconds)."""

    drop: bool = False
    response: HttpResponse | None = None
    delay: float = 0.0


NO_FAULTS = Plan()


class FrontFaults:
    """The front faults of one service, as its gateway route sees them."""

    def __init__(
        self,
        store: FaultStore,
        service: str,
        clock: Callable[[], float] = time.time,
        online: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.service = service
        #: ``(endpoint, deployment)`` of an SDK v2 online deployment: its status faults are
        #: its replicas' answers (see :meth:`_answer`).
        self.online = online
        self._clock = clock
        self._generators: dict[str, random.Random] = {}

    def plan(self) -> Plan:
        """Roll the dice of every active front fault for one request."""
        faults = [
            fault
            for fault in self.store.faults()
            if fault.state is FaultState.ACTIVE and fault.kind is not FaultKind.TOKEN_EXPIRY
        ]
        if not faults:
            return NO_FAULTS
        delay, hit = 0.0, []
        for fault in faults:
            if self._draw(fault):
                hit.append(fault)
        for fault in hit:
            if fault.kind is FaultKind.DROP:
                return Plan(drop=True)
        for fault in hit:
            if fault.kind is FaultKind.STATUS:
                return Plan(response=self._answer(fault))
        for fault in hit:
            delay += fault.seconds or 0.0
        return Plan(delay=delay) if delay else NO_FAULTS

    def token_refusal(self, authorization: str | None) -> tuple[int, str] | None:
        """The 401 for a valid token older than an active token-expiry fault allows."""
        limits = [
            fault.seconds or 0.0
            for fault in self.store.faults()
            if fault.kind is FaultKind.TOKEN_EXPIRY and fault.state is FaultState.ACTIVE
        ]
        if not limits or not authorization:
            return None
        issued = _issued_at(authorization.strip().partition(" ")[2].strip())
        if issued is None:  # a key, not a token
            return None
        if self._clock() - issued >= min(limits):
            return 401, responses.EXPIRED_TOKEN
        return None

    def _draw(self, fault: Fault) -> bool:
        if fault.share >= 1:
            return True
        generator = self._generators.get(fault.id)
        if generator is None:
            generator = self._generators[fault.id] = random.Random(fault.seed)
        return generator.random() < fault.share

    def _answer(self, fault: Fault) -> HttpResponse:
        if self.online is not None:
            return self._replica_answer(fault)
        status = fault.status or 503
        if status == 503:  # Azure's recorded text, which clients match on
            text = responses.overloaded_message(self.service)
        else:
            text = f"{HTTPStatus(status).phrase} (service {self.service})"
        response = responses.front_response(
            status,
            text,
            f"fault {fault.id} injected ({fault.describe()}): remove it with "
            f"handle.remove() or amlemu faults clear {self.service}",
        )
        response.headers.append((FAULT_HEADER, fault.id))
        return response

    def _replica_answer(self, fault: Fault) -> HttpResponse:
        """An online deployment's status fault, answered as its replicas would answer: an
        online endpoint's front end sits before the deployment, so it treats the status as the
        model's (a 5xx reaches the client as Azure's 424, the status in
        ``ms-azureml-model-error-statuscode``; a 4xx is passed on). No front-end hint header,
        which would make the endpoint read it as the gateway's own answer. The body is JSON
        with ARM's error shape, so ``online_endpoints.invoke`` raises ``HttpResponseError``
        with its message (a plain-text body would make it raise a bare ``MlException``)."""
        assert self.online is not None
        endpoint, deployment = self.online
        status = fault.status or 500
        text = (
            f"fault {fault.id} injected into deployment "
            f"'{deployment}' of endpoint '{endpoint}' ({fault.describe()}). [emulator] Remove "
            f"it with handle.remove() or amlemu faults clear --endpoint {endpoint} "
            f"--deployment {deployment}"
        )
        phrase = HTTPStatus(status).phrase
        body = json.dumps({"error": {"code": phrase.replace(" ", ""), "message": text}}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            (FAULT_HEADER, fault.id),
        ]
        return HttpResponse(status, headers, body, phrase)


def _issued_at(credential: str) -> float | None:
    """The ``iat`` claim of a JWT-shaped token (already verified by the service's auth)."""
    parts = credential.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(claims["iat"])
    except (ValueError, KeyError, TypeError):
        return None

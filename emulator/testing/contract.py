"""The scoring contract of a deployed service, checked with generated payloads.

Every valid payload must be answered 200 with JSON that is not an exception message (nor,
when the service publishes an output schema, a value of another JSON type); every malformed
one must be refused with a 4xx/5xx and a message. Never acceptable: no answer in time, the
gateway's 504 or the server's scoring timeout (a hang), a 502 (the replica died mid-request),
or a service that is no longer healthy afterwards.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as Settings
from hypothesis.strategies import SearchStrategy

from emulator.testing.exception_text import looks_like_exception
from emulator.testing.malformed import malformed_payloads
from emulator.testing.payloads import json_type, payloads
from emulator.testing.sources import InputSpec, from_swagger, service_swagger

_SWALLOWED = (
    "run() probably catches exceptions and returns str(e); let them propagate (the server "
    "answers 500) or return an error status with AMLResponse"
)
_HEALTHY = ("Healthy", "healthy")
#: Hypothesis's phases less ``explain``, which re-scores hundreds of variants of a failing
#: payload (seconds per failure) to annotate it; the shrunk payload says enough.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)


class ScoringContractViolation(AssertionError):
    """A service answered a payload in a way the scoring contract forbids."""


def check_scoring_contract(
    service: Any,
    payload_strategy: SearchStrategy[Any] | None = None,
    malformed: bool = True,
    max_examples: int = 25,
    timeout: float = 30.0,
    settings: Settings | None = None,
) -> None:
    """Score ``max_examples`` valid payloads (``payload_strategy``, by default generated from
    the service's input schema) and as many malformed ones derived from them; raise
    :class:`ScoringContractViolation` (with Hypothesis's smallest failing payload) on the first
    breach. Runs are deterministic (``derandomize``) unless ``settings`` replaces the defaults."""
    spec = _spec(service, payload_strategy is None)
    valid = payload_strategy if payload_strategy is not None else payloads(service)
    client = _Client(service, timeout, spec.output_schema if spec else None)
    chosen = settings or Settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=_PHASES,
    )

    @chosen
    @given(valid)
    def valid_payloads_are_scored(payload: Any) -> None:
        client.expect_success(json.dumps(payload).encode())

    valid_payloads_are_scored()
    if malformed:

        @chosen
        @given(malformed_payloads(valid))
        def malformed_payloads_are_refused(body: bytes) -> None:
            client.expect_refusal(body)

        malformed_payloads_are_refused()
    client.expect_healthy()


def _spec(service: Any, required: bool) -> InputSpec | None:
    """The service's input and output schemas; optional when payloads come from elsewhere."""
    try:
        return from_swagger(service_swagger(service), f"service {service.name}")
    except ValueError:
        if required:
            raise
        return None


class _Client:
    def __init__(self, service: Any, timeout: float, output_schema: dict[str, Any] | None):
        if not service.scoring_uri:
            raise ValueError(
                f"service {service.name} has no scoring URI (state {service.state}); wait for "
                "its deployment first: service.wait_for_deployment()"
            )
        self.service = service
        self.timeout = timeout
        self.output_kind = json_type(output_schema) if output_schema else None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if getattr(self.service, "token_auth_enabled", False):
            headers["Authorization"] = f"Bearer {self.service.get_token()[0]}"
        elif getattr(self.service, "auth_enabled", False):
            headers["Authorization"] = f"Bearer {self.service.get_keys()[0]}"
        return headers

    def post(self, body: bytes) -> tuple[int, str]:
        request = urllib.request.Request(
            self.service.scoring_uri, data=body, headers=self._headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except TimeoutError:
            raise self._violation(f"no answer within {self.timeout} s (a hang)", body) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise self._violation(f"no answer within {self.timeout} s (a hang)", body) from None
            raise self._violation(f"the service cannot be reached: {error.reason}") from None

    def _violation(self, problem: str, body: bytes | None = None) -> ScoringContractViolation:
        """The breach, with the request body that caused it (Hypothesis's own report of the
        falsifying example can be altered by other Hypothesis plugins)."""
        sent = "" if body is None else f"\n  request body: {body[:300].decode(errors='replace')}"
        return ScoringContractViolation(f"service {self.service.name}: {problem}{sent}")

    def _never(self, status: int, text: str, body: bytes) -> None:
        """The answers no payload may get: a hang or a crash."""
        if status == 504 or "Scoring timeout after" in text:
            raise self._violation(f"scoring timed out ({status}): {text[:300]}", body)
        if status == 502:
            raise self._violation(
                f"the replica died while scoring (502): {text[:300]}; see service.get_logs()", body
            )

    def expect_success(self, body: bytes) -> None:
        status, text = self.post(body)
        self._never(status, text, body)
        if status != 200:
            raise self._violation(f"a valid payload was answered {status}: {text[:500]}", body)
        try:
            value = json.loads(text)
        except ValueError:
            raise self._violation(
                f"answered 200 with a body that is not JSON: {text[:300]}", body
            ) from None
        if isinstance(value, str) and looks_like_exception(value):
            raise self._violation(
                f"answered 200 with an exception message: {value[:300]!r}; {_SWALLOWED}", body
            )
        kind = json_type({}, value) if value is not None else "null"
        if (
            self.output_kind
            and kind != self.output_kind
            and {kind, self.output_kind}
            != {
                "integer",
                "number",
            }
        ):
            raise self._violation(
                f"answered 200 with a JSON {kind} where the output schema says "
                f"{self.output_kind}: {text[:300]}",
                body,
            )

    def expect_refusal(self, body: bytes) -> None:
        status, text = self.post(body)
        self._never(status, text, body)
        if status == 200:
            note = f"; {_SWALLOWED}" if looks_like_exception(text) else ""
            raise self._violation(f"a malformed payload was answered 200: {text[:300]}{note}", body)
        if not 400 <= status < 600:
            raise self._violation(f"a malformed payload was answered {status}: {text[:300]}", body)
        if not text.strip():
            raise self._violation(
                f"a malformed payload was answered {status} without a message", body
            )

    def expect_healthy(self) -> None:
        self.service.update_deployment_state()
        if self.service.state not in _HEALTHY:
            raise self._violation(
                f"the service is {self.service.state} after scoring: {self.service.error}"
            )

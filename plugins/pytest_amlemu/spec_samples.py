"""Scoring one spec sample over HTTP and comparing the answer with what the spec expects.

Samples are sent to the service's scoring URI as a client would (with its key or token when
auth is on), so a spec checks the gateway, the auth and the server, not only ``run()``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from emulator.validation.json_subset import validate
from pytest_amlemu.spec_schema import Sample

TIMEOUT_SECONDS = 60
_BODY_LIMIT = 2000


def score(service: Any, payload: Any) -> tuple[int, str]:
    """POST ``payload`` (a string as is, anything else as JSON); the status and body text."""
    data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **_auth_headers(service)}
    request = urllib.request.Request(service.scoring_uri, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _auth_headers(service: Any) -> dict[str, str]:
    if getattr(service, "token_auth_enabled", False):
        return {"Authorization": f"Bearer {service.get_token()[0]}"}
    if getattr(service, "auth_enabled", False):
        return {"Authorization": f"Bearer {service.get_keys()[0]}"}
    return {}


def check(sample: Sample, status: int, body: str) -> list[str]:
    """What is wrong with the answer (empty when it meets every expectation)."""
    shown = body if len(body) <= _BODY_LIMIT else body[:_BODY_LIMIT] + " ..."
    if status != sample.status:
        return [f"expected status {sample.status}, got {status}; body: {shown}"]
    if not sample.has_expect and sample.expect_schema is None:
        return []
    try:
        answer = json.loads(body)
    except ValueError:
        return [f"expected a JSON body, got: {shown}"]
    problems = []
    if sample.has_expect and answer != sample.expect:
        problems.append(
            f"expected exactly {json.dumps(sample.expect)}\n               got {json.dumps(answer)}"
        )
    if sample.expect_schema is not None:
        problems.extend(validate(answer, sample.expect_schema))
    return problems

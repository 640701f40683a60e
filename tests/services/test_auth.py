"""Keys and tokens: the ServiceAuth state, and what the gateway answers without them."""

from __future__ import annotations

import base64
import time

import pytest
from service_harness import Pool, call

from emulator.services import AuthMode, ServiceAuth, generate_key

SCORE = "/api/v1/service/svc/score"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def test_keys_look_like_azure_keys() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(key) == 32
        assert len(base64.b64decode(key)) == 24
    auth = ServiceAuth("key")
    assert auth.keys() == (auth.primary_key, auth.secondary_key)
    assert auth.primary_key != auth.secondary_key


def test_key_checks() -> None:
    auth = ServiceAuth(AuthMode.KEY, primary_key="p" * 32, secondary_key="s" * 32)
    assert auth.check("Bearer " + "p" * 32) is None
    assert auth.check("bearer " + "s" * 32) is None
    assert auth.check(None) == (401, "Unauthorized, no Auth Header")
    assert auth.check("") == (401, "Unauthorized, no Auth Header")
    assert auth.check("Bearer wrong")[0] == 401  # type: ignore[index]
    assert auth.check("Bearer wrong")[1] == "Unauthorized, invalid key"  # type: ignore[index]
    assert auth.check("p" * 32)[1].startswith("Unauthorized, invalid Auth Header")  # type: ignore[index]
    assert auth.check("Basic " + "p" * 32)[0] == 401  # type: ignore[index]
    assert ServiceAuth("off").check(None) is None


def test_regenerating_a_key_retires_the_old_one() -> None:
    auth = ServiceAuth("key")
    old_primary, old_secondary = auth.keys()
    new_primary = auth.regen_key("primary")
    assert new_primary == auth.primary_key != old_primary and len(new_primary) == 32
    assert auth.check(f"Bearer {old_primary}") == (401, "Unauthorized, invalid key")
    assert auth.check(f"Bearer {new_primary}") is None
    assert auth.check(f"Bearer {old_secondary}") is None
    assert auth.regen_key("Secondary", set_key="chosen-key") == "chosen-key"
    assert auth.check("Bearer chosen-key") is None
    assert auth.check(f"Bearer {old_secondary}") is not None
    with pytest.raises(ValueError, match=r"invalid value provided for key: Tertiary\.\nValid"):
        auth.regen_key("tertiary")
    with pytest.raises(ValueError, match="must specify which key"):
        auth.regen_key("")


def test_tokens_expire_and_are_bound_to_their_service() -> None:
    clock = Clock()
    auth = ServiceAuth("token", token_lifetime=3600, clock=clock)
    token, refresh_after = auth.issue_token()
    assert refresh_after == clock.now + 1800
    full = auth.issue_access_token()
    assert (full.token_type, full.expiry_on) == ("Bearer", clock.now + 3600)
    assert token.count(".") == 2 and token.startswith("eyJ")
    assert auth.check(f"Bearer {token}") is None
    assert auth.check(f"Bearer {auth.primary_key}") == (401, "Unauthorized, invalid token")
    other = ServiceAuth("token", clock=clock)
    assert other.check(f"Bearer {token}") == (401, "Unauthorized, invalid token")
    head, body, signature = token.split(".")
    assert auth.check(f"Bearer {head}.{body}x.{signature}") == (401, "Unauthorized, invalid token")
    clock.now += 3599
    assert auth.check(f"Bearer {token}") is None
    clock.now += 1
    assert auth.check(f"Bearer {token}") == (401, "Unauthorized, token expired")
    # the same secret checks tokens in another process (the owner persists it)
    twin = ServiceAuth("token", token_secret=auth.token_secret, clock=clock)
    assert twin.check(f"Bearer {auth.issue_token()[0]}") is None


def test_tokens_only_for_token_auth() -> None:
    with pytest.raises(ValueError, match="Token authentication is not enabled"):
        ServiceAuth("key").issue_token()
    with pytest.raises(ValueError):
        ServiceAuth("token", token_lifetime=0)


def test_key_auth_through_the_gateway(replica_factory, gateway_factory) -> None:
    auth = ServiceAuth("key")
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica_factory("r1")]), auth=auth)

    missing = call(gateway.port, SCORE)
    assert (missing.status, missing.text) == (401, "Unauthorized, no Auth Header")
    assert missing.header("x-ms-request-id") and missing.header("x-amlemu-hint")
    wrong = call(gateway.port, SCORE, headers=bearer("not-the-key"))
    assert (wrong.status, wrong.text) == (401, "Unauthorized, invalid key")
    assert call(gateway.port, SCORE, headers=bearer(auth.primary_key)).status == 200
    assert call(gateway.port, SCORE, headers=bearer(auth.secondary_key)).status == 200

    old = auth.primary_key
    auth.regen_key("Primary")
    assert call(gateway.port, SCORE, headers=bearer(old)).status == 401
    assert call(gateway.port, SCORE, headers=bearer(auth.primary_key)).status == 200
    # a CORS preflight and the swagger document need no key
    assert call(gateway.port, SCORE, "OPTIONS").status == 200
    assert call(gateway.port, "/api/v1/service/svc/swagger.json", "GET").status == 200
    metrics = gateway.service("svc").metrics()
    assert metrics.unauthorized == 3 and metrics.statuses == {401: 3, 200: 5}


def test_token_auth_through_the_gateway(replica_factory, gateway_factory) -> None:
    auth = ServiceAuth("token", token_lifetime=0.5)
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica_factory("r1")]), auth=auth)
    token, refresh_after = auth.issue_token()
    assert refresh_after <= time.time() + 0.25
    assert call(gateway.port, SCORE, headers=bearer(token)).status == 200
    assert call(gateway.port, SCORE, headers=bearer(auth.primary_key)).status == 401
    time.sleep(0.55)
    expired = call(gateway.port, SCORE, headers=bearer(token))
    assert (expired.status, expired.text) == (401, "Unauthorized, token expired")
    assert call(gateway.port, SCORE, headers=bearer(auth.issue_token()[0])).status == 200


def test_switching_auth_off(replica_factory, gateway_factory) -> None:
    auth = ServiceAuth("key")
    gateway = gateway_factory()
    gateway.add_service("svc", Pool([replica_factory("r1")]), auth=auth)
    assert call(gateway.port, SCORE).status == 401
    auth.mode = AuthMode.OFF
    assert call(gateway.port, SCORE).status == 200

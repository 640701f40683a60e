"""The emulator's managed identity: the App Service token protocol, and the tokens it issues.

With ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` set (and no ``IDENTITY_SERVER_THUMBPRINT`` or
``IMDS_ENDPOINT``), azure-identity's ``ManagedIdentityCredential`` — the managed-identity step of
an unchanged ``DefaultAzureCredential()`` — speaks App Service's protocol (msal 1.39,
``_obtain_token_on_app_service``): ``GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=R``
with the header ``X-IDENTITY-HEADER: <IDENTITY_HEADER>`` (plus ``client_id`` / ``object_id`` /
``mi_res_id`` for a user-assigned identity), and reads ``access_token`` and ``expires_on`` (epoch
seconds) from the JSON answer; an answer without them is reported from its ``statusCode`` and
``message``. The header value is a per-root secret, so only processes given ``amlemu env``'s
variables obtain tokens. Tokens are JWTs signed (HS256) with that secret: well formed for every
client that decodes them, and checkable by the emulator itself — ``amlemu up --strict-auth``
accepts no other (:func:`verify_token`), with ARM's codes and messages for a token that is not
valid, has expired or was issued for another audience.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from emulator.arm.exceptions import AuthenticationFailed

#: How long an issued token lives (Azure's managed-identity tokens live about 24 hours).
TOKEN_SECONDS = 24 * 3600
#: The identity's object and tenant ids: fixed, so records made with one token match the next.
OBJECT_ID = "00000000-0000-4000-8000-0000000000e1"
TENANT_ID = "00000000-0000-4000-8000-0000000000a0"
#: The audiences ARM itself accepts (a client may ask for a token with Azure's public scope).
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)
#: Clock skew tolerated on ``nbf``/``exp``, as Microsoft Entra ID's validators do (5 minutes).
SKEW_SECONDS = 300


class TokenRejected(AuthenticationFailed):
    """401 for a bearer token the emulator did not issue, or one no longer valid: ARM's codes
    (``InvalidAuthenticationToken``, ``ExpiredAuthenticationToken``,
    ``InvalidAuthenticationTokenAudience``) and messages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def identity_secret(daemon_dir: Path) -> str:
    """The root's ``IDENTITY_HEADER`` value, created once (owner-readable only)."""
    path = daemon_dir / "identity-header"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    daemon_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def issue_token(secret: str, resource: str, client_id: str | None) -> dict[str, str]:
    """App Service's answer for ``resource``: a signed JWT and when it expires."""
    now = int(time.time())
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{TENANT_ID}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_SECONDS,
        "oid": OBJECT_ID,
        "sub": OBJECT_ID,
        "tid": TENANT_ID,
        "appid": client_id or OBJECT_ID,
        "jti": str(uuid.uuid4()),
    }
    return {
        "access_token": _jwt(claims, secret),
        "expires_on": str(now + TOKEN_SECONDS),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": client_id or OBJECT_ID,
    }


def verify_token(
    secret: str, token: str, audiences: Iterable[str], now: float | None = None
) -> dict[str, object]:
    """The claims of ``token`` when this root's identity endpoint issued it (HS256 signature
    made with ``secret``), it is valid at ``now`` and it was issued for one of ``audiences``;
    :class:`TokenRejected` with ARM's code and message otherwise."""
    claims = _signed_claims(secret, token)
    if claims is None:
        raise TokenRejected(
            "InvalidAuthenticationToken",
            "The access token is invalid. [emulator] This emulator runs with --strict-auth: it "
            "accepts only tokens its own identity endpoint issued. Get them with an unchanged "
            'DefaultAzureCredential() after `eval "$(amlemu env)"` (IDENTITY_ENDPOINT, '
            "IDENTITY_HEADER), or start the emulator without --strict-auth.",
        )
    current = time.time() if now is None else now
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, int) or expires + SKEW_SECONDS < current:
        raise TokenRejected(
            "ExpiredAuthenticationToken",
            f"The access token expiry UTC time '{_arm_time(expires)}' is earlier than current "
            f"UTC time '{_arm_time(current)}'. [emulator] Ask the credential for a new token.",
        )
    if isinstance(not_before, int) and not_before - SKEW_SECONDS > current:
        raise TokenRejected(
            "InvalidAuthenticationToken",
            f"The access token is not yet valid: it is valid from UTC time "
            f"'{_arm_time(not_before)}', after the current UTC time '{_arm_time(current)}'.",
        )
    allowed = tuple(audiences)
    if claims.get("aud") not in allowed:
        quoted = ",".join(f"'{a}'" for a in allowed)
        raise TokenRejected(
            "InvalidAuthenticationTokenAudience",
            f"The access token has been obtained for wrong audience or resource "
            f"'{claims.get('aud')}'. It should exactly match with one of the allowed audiences "
            f"{quoted}.",
        )
    return claims


def _signed_claims(secret: str, token: str) -> dict[str, object] | None:
    """The payload of an HS256 JWT whose signature ``secret`` made, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload, signature = parts
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            return None
        if json.loads(_unb64(header)).get("alg") != "HS256":
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, AttributeError):  # not base64url, not JSON, not a JSON object
        return None
    return claims if isinstance(claims, dict) else None


def _arm_time(epoch: object) -> str:
    """A time as ARM's token messages print it: ``11/3/2020 5:26:32 PM``."""
    if not isinstance(epoch, (int, float)):
        return "(none)"
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    clock = moment.strftime("%I:%M:%S %p").lstrip("0")
    return f"{moment.month}/{moment.day}/{moment.year} {clock}"


def _jwt(claims: dict[str, object], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

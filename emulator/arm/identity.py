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
client that decodes them, and checkable by the emulator itself.
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
from pathlib import Path

#: How long an issued token lives (Azure's managed-identity tokens live about 24 hours).
TOKEN_SECONDS = 24 * 3600
#: The identity's object and tenant ids: fixed, so records made with one token match the next.
OBJECT_ID = "00000000-0000-4000-8000-0000000000e1"
TENANT_ID = "00000000-0000-4000-8000-0000000000a0"


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


def _jwt(claims: dict[str, object], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

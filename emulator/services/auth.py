"""A service's credentials: keys (primary/secondary, regenerable) and short-lived tokens.

Modes as in Azure: ``off`` (ACI's default), ``key`` (AKS's default: ``Authorization: Bearer
<primary or secondary key>``) and ``token`` (AKS only: ``Bearer <token>`` from ``get_token()``,
valid for ``token_lifetime`` seconds, one hour in Azure). Keys look like Azure's (32 random
base64 characters). Tokens are JWT-shaped and HMAC-signed with the service's ``token_secret``,
so any process holding the same secret can check them and nothing per token is stored.

Every failure is 401 (see :mod:`.responses` for the texts): the SDK's ``run()`` re-reads keys or
tokens and retries once on 401, which is how a client holding a regenerated key recovers in
Azure, so a stale key must be a 401 too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from emulator.services import responses

TOKEN_LIFETIME_S = 3600.0
KEY_NAMES = ("Primary", "Secondary")


class AuthMode(str, Enum):
    OFF = "off"
    KEY = "key"
    TOKEN = "token"


def generate_key() -> str:
    """32 random characters of base64, like the keys Azure generates."""
    return base64.b64encode(secrets.token_bytes(24)).decode("ascii")


@dataclass(frozen=True)
class AccessToken:
    """What ``AksWebservice.get_access_token()`` returns (times are unix timestamps)."""

    access_token: str
    token_type: str
    refresh_after: float
    expiry_on: float


class ServiceAuth:
    """The auth state of one service; the owner persists ``primary_key``, ``secondary_key``,
    ``mode``, ``token_lifetime`` and ``token_secret`` if it wants them to survive a restart."""

    def __init__(
        self,
        mode: AuthMode | str = AuthMode.OFF,
        primary_key: str | None = None,
        secondary_key: str | None = None,
        token_lifetime: float = TOKEN_LIFETIME_S,
        *,
        token_secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.mode = AuthMode(mode)
        self.primary_key = primary_key or generate_key()
        self.secondary_key = secondary_key or generate_key()
        if token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        self.token_lifetime = float(token_lifetime)
        self.token_secret = token_secret or secrets.token_hex(32)
        self._clock = clock

    # keys

    def keys(self) -> tuple[str, str]:
        """``get_keys()``: (primary, secondary)."""
        return self.primary_key, self.secondary_key

    def regen_key(self, which: str, set_key: str | None = None) -> str:
        """``regen_key('Primary'|'Secondary', set_key=None)``: the new key (``set_key`` or a
        fresh one). The old key stops working at once."""
        if not which:
            raise ValueError(
                "Error, must specify which key with be regenerated: Primary, Secondary"
            )
        name = which.capitalize()
        if name not in KEY_NAMES:
            raise ValueError(
                f"Error, invalid value provided for key: {name}.\n"
                "Valid options are: Primary, Secondary"
            )
        key = set_key or generate_key()
        if name == "Primary":
            self.primary_key = key
        else:
            self.secondary_key = key
        return key

    # tokens

    def issue_token(self) -> tuple[str, float]:
        """``get_token()``: (token, refresh_after as a unix timestamp)."""
        token = self.issue_access_token()
        return token.access_token, token.refresh_after

    def issue_access_token(self) -> AccessToken:
        """A token valid for ``token_lifetime`` seconds; refresh after half of it."""
        if self.mode is not AuthMode.TOKEN:
            raise ValueError("Token authentication is not enabled for this service.")
        issued = self._clock()
        expiry = issued + self.token_lifetime
        claims = {"iat": int(issued), "exp": expiry, "jti": secrets.token_hex(8)}
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(self._sign(f"{head}.{body}"))
        return AccessToken(
            f"{head}.{body}.{signature}", "Bearer", issued + self.token_lifetime / 2, expiry
        )

    def _sign(self, text: str) -> bytes:
        return hmac.new(self.token_secret.encode(), text.encode(), hashlib.sha256).digest()

    def _token_problem(self, token: str) -> str | None:
        parts = token.split(".")
        if len(parts) != 3:
            return responses.INVALID_TOKEN
        expected = _b64(self._sign(f"{parts[0]}.{parts[1]}"))
        if not hmac.compare_digest(expected, parts[2]):
            return responses.INVALID_TOKEN
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            expiry = float(claims["exp"])
        except (ValueError, KeyError, TypeError):
            return responses.INVALID_TOKEN
        return responses.EXPIRED_TOKEN if self._clock() >= expiry else None

    # checking a request

    def check(self, header: str | None) -> tuple[int, str] | None:
        """``None`` when ``header`` (the request's ``Authorization`` value) may pass, else the
        (status, body text) the front end answers with."""
        if self.mode is AuthMode.OFF:
            return None
        if not header:
            return 401, responses.NO_AUTH_HEADER
        scheme, _, credential = header.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return 401, responses.INVALID_AUTH_HEADER
        if self.mode is AuthMode.KEY:
            for key in (self.primary_key, self.secondary_key):
                if hmac.compare_digest(credential.encode(), key.encode()):
                    return None
            return 401, responses.INVALID_KEY
        problem = self._token_problem(credential)
        return None if problem is None else (401, problem)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

"""HTTPS on an ACI service's endpoint: the user's certificate, served on loopback, at the cname.

An ACI service deployed with ``ssl_enabled=True`` answers over HTTPS with the certificate and
key the user gave (``ssl_cert_pem_file`` / ``ssl_key_pem_file``), and its scoring URI is
``https://<ssl_cname>/score``: the user's DNS points the cname at the service. The emulator's
gateway listens on 127.0.0.1 and a free port, so the URI is ``https://<ssl_cname>:<port>/score``,
and the emulator plays the DNS record inside the process that hosts the service: while the
service runs, resolving the cname there gives 127.0.0.1 (``socket.getaddrinfo``, which
``requests``, ``urllib``, ``http.client`` and asyncio all use). Clients therefore check the
certificate against the cname exactly as they do against Azure, and a certificate they do not
trust fails as it would there. Other processes do not see the record (``curl --resolve
<cname>:<port>:127.0.0.1`` reaches the service from a shell). Under ``AzureMock(azure_uris=True)``
the service shows Azure's own ``https://<ssl_cname>/score``, answered in-process
(:mod:`emulator.mock`).

The mapping only ever sends the declared names to loopback, for as long as a service of this
process uses them; unrelated names resolve as before, and the original resolver is put back
when the last such service stops.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from emulator.exceptions import BadArgument

LOOPBACK = "127.0.0.1"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class TlsEndpoint:
    """A service's HTTPS settings: the name clients use, and the PEM files to serve with."""

    cname: str
    cert_file: str
    key_file: str

    def __post_init__(self) -> None:
        if len(self.cname) > 253 or not _HOST_NAME.fullmatch(self.cname):
            raise BadArgument(
                f"Invalid ssl_cname {self.cname!r}. [emulator] Give the host name clients "
                "use, the one the certificate is issued for, such as 'scoring.contoso.com' (no "
                "scheme, port or path)."
            )

    def context(self) -> ssl.SSLContext:
        """A server context with the certificate chain and key loaded; raises
        ``BadArgument`` naming the files when they are not a PEM certificate and its
        unencrypted private key."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            # An encrypted key would prompt on the terminal: refuse it instead.
            context.load_cert_chain(self.cert_file, self.key_file, password=_no_password)
        except (OSError, ssl.SSLError, TypeError) as exc:
            raise BadArgument(
                "Error while reading ssl information:\n"
                f"cannot serve HTTPS with ssl_cert_pem_file={self.cert_file!r} and "
                f"ssl_key_pem_file={self.key_file!r}: {_reason(exc)}\n[emulator] Give a "
                "PEM certificate (chain) and its matching, unencrypted PEM private key."
            ) from exc
        return context

    def scoring_uri(self, port: int) -> str:
        return f"https://{self.cname}:{port}/score"

    def publish(self) -> None:
        """Resolve the cname to loopback in this process (until :meth:`withdraw`)."""
        with _lock:
            _names[self.cname.lower()] += 1
            if socket.getaddrinfo is not _getaddrinfo:
                global _previous
                _previous = socket.getaddrinfo
                socket.getaddrinfo = _getaddrinfo

    def withdraw(self) -> None:
        """Undo one :meth:`publish`; the last one puts the original resolver back."""
        name = self.cname.lower()
        with _lock:
            if _names[name] <= 0:
                return
            _names[name] -= 1
            if _names[name] == 0:
                del _names[name]
            if not _names and socket.getaddrinfo is _getaddrinfo and _previous is not None:
                socket.getaddrinfo = _previous


def is_published(host: str) -> bool:
    """Whether a service of this process serves ``host`` as its cname right now."""
    with _lock:
        return host.rstrip(".").lower() in _names


_lock = threading.Lock()
_names: Counter[str] = Counter()
_previous: Any = None


def _getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    """``socket.getaddrinfo``, with the published cnames answered as 127.0.0.1."""
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
    if isinstance(name, str) and name.rstrip(".").lower() in _names:
        host = LOOPBACK
    return _previous(host, port, family, type, proto, flags)


def _no_password() -> bytes:
    raise TypeError("the private key is encrypted (a passphrase would be needed)")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"no such file {exc.filename!r}"
    if isinstance(exc, ssl.SSLError):
        return f"{exc.reason or exc} (not a PEM certificate and matching key?)"
    return str(exc)

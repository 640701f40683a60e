"""One CA bundle for the clients of the emulator: its local CA plus the trust already in force.

``requests`` (under ``azure-core``) verifies with ``REQUESTS_CA_BUNDLE``, which *replaces*
certifi's roots; ``ssl``/``urllib``/``aiohttp`` use ``SSL_CERT_FILE``, which replaces the system
store. Pointing either at the emulator's CA alone would break every other HTTPS call of the
process (real Azure, PyPI, a TLS-inspecting proxy). So both variables get one bundle: the
emulator's CA followed by every certificate the process trusted before — an existing
``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE``, and certifi's roots (or the system's CA file when
certifi is absent). Certificates appear once each, so building the bundle again from an
environment that already points at it changes nothing.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.S)
#: Variables naming a CA file that some client library of the process verifies with.
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def trusted_files(environ: Mapping[str, str]) -> list[Path]:
    """The CA files in force for this environment, most specific first."""
    files = [Path(environ[v]) for v in TRUST_VARIABLES if environ.get(v)]
    try:
        import certifi

        files.append(Path(certifi.where()))
    except ImportError:
        default = ssl.get_default_verify_paths().cafile
        if default:
            files.append(Path(default))
    return files


def certificates(files: Iterable[Path]) -> list[bytes]:
    """The PEM certificates in ``files`` in order, each once; unreadable files are skipped (a
    stale variable must not stop the emulator from starting)."""
    seen: set[bytes] = set()
    found: list[bytes] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for match in _PEM.finditer(data):
            pem = match.group(0).replace(b"\r\n", b"\n")
            if pem not in seen:
                seen.add(pem)
                found.append(pem)
    return found


def write_bundle(ca_cert: Path, target: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Write ``target`` = the emulator CA + the trust of ``environ`` (default: this process)."""
    environ = os.environ if environ is None else environ
    pems = certificates([ca_cert, *trusted_files(environ)])
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(b"\n".join(pems) + b"\n")
    os.replace(tmp, target)
    return target

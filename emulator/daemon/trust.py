"""One CA bundle for the clients of the emulator: its local CA plus the trust already in force.

``requests`` (under ``azure-core``) verifies with ``REQUESTS_CA_BUNDLE``, which *replaces*
certifi's roots; ``ssl``/``urllib``/``aiohttp`` use ``SSL_CERT_FILE``, which replaces the system
store. Pointing either at the emulator's CA alone would break every other HTTPS call of the
process (real Azure, PyPI, a TLS-inspecting proxy). So both variables get the same
certificates: the emulator's CA followed by every certificate the process trusted before — an
existing ``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE``, and certifi's roots (or the system's CA
file when certifi is absent). Certificates appear once each, so building the bundle again from an
environment that already points at it changes nothing.

``REQUESTS_CA_BUNDLE`` gets the same certificates as a hashed directory
(:mod:`emulator.daemon.ca_directory`): ``requests`` parses its CA file anew for every new
connection, and OpenSSL reads a directory's certificates one at a time as verification asks for
them. ``SSL_CERT_FILE`` stays the file: OpenSSL reads that variable as a file only, and tools
such as uv take it as their roots.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from emulator.daemon.ca_directory import write_directory

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
    """The PEM certificates in ``files`` in order, each once; a directory (``requests`` takes
    one in ``REQUESTS_CA_BUNDLE``) stands for its files in name order; unreadable files are
    skipped (a stale variable must not stop the emulator from starting)."""
    seen: set[bytes] = set()
    found: list[bytes] = []
    for path in _expanded(files):
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


def _expanded(files: Iterable[Path]) -> Iterator[Path]:
    for path in files:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file())
        else:
            yield path


def write_trust(
    ca_cert: Path, target: Path, environ: Mapping[str, str] | None = None
) -> tuple[Path, Path]:
    """``(bundle file, hashed directory)``: the emulator CA + the trust of ``environ`` (default:
    this process) written as the file ``target`` and as a directory next to it."""
    environ = os.environ if environ is None else environ
    pems = certificates([ca_cert, *trusted_files(environ)])
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(b"\n".join(pems) + b"\n")
    os.replace(tmp, target)
    return target, write_directory(pems, target.parent)

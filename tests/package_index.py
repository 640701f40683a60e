"""A small package index for build tests: generated wheels behind a PEP 503 simple index,
served on 127.0.0.1 (a random port), over HTTP or over HTTPS with a CA made for the test.

Wheels can exclude this python by ``Requires-Python`` or by their tag, which is how real
packages lack a build for a python; uv and pip then see what they see on PyPI, offline.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import http.server
import ssl
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: ``Requires-Python`` that excludes the running interpreter: a lower bound, as on PyPI
#: (numpy 2.3 on python 3.10), because uv ignores upper bounds (measured with uv 0.13.9: a
#: wheel requiring ``<3.11`` installs on 3.11 with uv, not with pip).
NOT_THIS_PYTHON = f">={sys.version_info[0]}.{sys.version_info[1] + 1}"
#: A wheel tag no python 3 can install.
PYTHON2_TAG = "cp27-cp27mu-manylinux1_x86_64"


@dataclass(frozen=True)
class Dist:
    """One wheel of the index."""

    name: str
    version: str
    requires_python: str | None = None
    tag: str = "py3-none-any"


def write_wheel(directory: Path, dist: Dist) -> Path:
    """A minimal valid wheel: module ``<name>`` with ``__version__``, metadata, RECORD."""
    module = dist.name.replace("-", "_")
    info = f"{module}-{dist.version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {dist.name}\nVersion: {dist.version}\n"
    if dist.requires_python:
        metadata += f"Requires-Python: {dist.requires_python}\n"
    files = {
        f"{module}/__init__.py": f"__version__ = {dist.version!r}\n",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: amlemu-tests\nRoot-Is-Purelib: true\n"
        f"Tag: {dist.tag}\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = directory / f"{module}-{dist.version}-{dist.tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def write_index(root: Path, dists: list[Dist]) -> None:
    """``root/files/*.whl`` and ``root/simple/<name>/index.html`` (with data-requires-python)."""
    (root / "files").mkdir(parents=True, exist_ok=True)
    for name in sorted({dist.name for dist in dists}):
        links = []
        for dist in (d for d in dists if d.name == name):
            wheel = write_wheel(root / "files", dist)
            sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
            requires = (
                f' data-requires-python="{html.escape(dist.requires_python)}"'
                if dist.requires_python
                else ""
            )
            links.append(
                f'<a href="../../files/{wheel.name}#sha256={sha}"{requires}>{wheel.name}</a>'
            )
        page = root / "simple" / name / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(
            "<!DOCTYPE html><html><body>\n" + "<br/>\n".join(links) + "\n</body></html>\n"
        )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1; yields the index URL (``.../simple/``)."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it (openssl); (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        directory / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=amlemu test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", extensions],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, cert, key

"""How the local builder installs: uv with the trust pip has, pip when uv cannot reach the
index or is missing, each said in the build log."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from package_index import Dist, make_certificates, serve, write_index

from emulator import CondaDependencies, Environment
from emulator.images.builders.local import LocalBuilder, LocalImage, load_local_image
from emulator.images.buildlog import BuildLog
from emulator.images.context import BuildContext, ImageRequest, write_context
from emulator.images.installer import run_logged, uv_environment
from emulator.store.root import EmulatorRoot

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
TLS_VARIABLES = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE",
    "UV_NATIVE_TLS", "UV_SYSTEM_CERTS",
)  # fmt: skip
FALLBACK = "installing with pip instead"


def test_uv_trusts_ssl_cert_file_as_set(tmp_path: Path) -> None:
    env, line = uv_environment({"SSL_CERT_FILE": "/corp/ca.pem", "UV_PYTHON_DOWNLOADS": "auto"})
    assert env["SSL_CERT_FILE"] == "/corp/ca.pem"
    assert "UV_NATIVE_TLS" not in env and "UV_SYSTEM_CERTS" not in env
    assert env["UV_PYTHON_DOWNLOADS"] == "never", "uv must never download a python"
    assert line == "uv trusts the certificates in SSL_CERT_FILE=/corp/ca.pem"


def test_uv_gets_pips_certificate_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env, line = uv_environment({"PIP_CERT": str(bundle), "REQUESTS_CA_BUNDLE": "/elsewhere"})
    assert env["SSL_CERT_FILE"] == str(bundle)
    assert line == f"uv trusts pip's certificate bundle (PIP_CERT={bundle})"
    env, _ = uv_environment({"REQUESTS_CA_BUNDLE": str(bundle)})
    assert env["SSL_CERT_FILE"] == str(bundle)


def test_uv_uses_the_system_store_without_a_bundle_and_keeps_the_users_choice() -> None:
    env, line = uv_environment({"PIP_CERT": "/no/such/bundle.pem"})
    assert (env["UV_NATIVE_TLS"], env["UV_SYSTEM_CERTS"]) == ("1", "1")
    assert "SSL_CERT_FILE" not in env
    assert line == "uv trusts the system certificate store (UV_NATIVE_TLS=1)"
    env, _ = uv_environment({"UV_NATIVE_TLS": "false", "PIP_CERT": "/no/such/bundle.pem"})
    assert env["UV_NATIVE_TLS"] == "false" and "SSL_CERT_FILE" not in env


def _context(tmp_path: Path, root: EmulatorRoot, pip: list[str], index: str | None) -> BuildContext:
    tmp_path.mkdir(exist_ok=True)
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    env = Environment("installer-test")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_indexurl=index, pip_packages=pip, python_version=PYTHON
    )
    request = ImageRequest(entry_script=script, environment=env)
    return write_context(request, tmp_path / "ctx", root.blobs)


def _build(tmp_path: Path, context: BuildContext) -> tuple[LocalImage, str]:
    log = BuildLog(tmp_path / "build.log")
    location = LocalBuilder(EmulatorRoot(tmp_path / "root")).build(
        context, log, tmp_path / "image", "img:1"
    )
    return load_local_image(location), log.path.read_text()


def _python(image: LocalImage, code: str) -> str:
    return subprocess.run(
        [str(image.python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def https_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An index behind a certificate of a CA made here: (index URL, the CA's PEM file)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test CA")
    directory = tmp_path_factory.mktemp("https-index")
    write_index(directory / "index", [Dist("amlemu-alpha", "1.2")])
    ca, cert, key = make_certificates(directory)
    with serve(directory / "index", tls=(cert, key)) as url:
        yield url, ca


@pytest.mark.slow
def test_a_bundle_configured_for_pip_lets_uv_through_a_tls_intercepting_index(
    tmp_path: Path, https_index: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    url, ca = https_index
    # What a corporate machine has: pip's bundle = the system's CAs + the proxy's CA.
    system = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().openssl_cafile
    bundle = tmp_path / "corporate-bundle.pem"
    bundle.write_text(Path(system).read_text() + ca.read_text())
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CERT", str(bundle))
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")

    image, log = _build(tmp_path, _context(tmp_path, EmulatorRoot(tmp_path / "root"),
                                          ["amlemu-alpha==1.2"], url))  # fmt: skip
    assert f"uv trusts pip's certificate bundle (PIP_CERT={bundle})" in log
    assert FALLBACK not in log, "uv itself must get through"
    assert _python(image, "import amlemu_alpha; print(amlemu_alpha.__version__)") == "1.2"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening) for the test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.slow
def test_uv_that_cannot_reach_the_index_hands_over_to_pip(
    tmp_path: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    # Only uv reads UV_INDEX_URL: pip still reaches its index, as behind a proxy uv can't pass.
    monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{closed_port}/simple/")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    context = _context(tmp_path, EmulatorRoot(tmp_path / "root"), ["azureml-defaults"], None)
    image, log = _build(tmp_path, context)
    assert "uv could not reach the package index (Connection refused" in log
    assert f"{FALLBACK}, which uses its own configuration" in log
    assert log.index(FALLBACK) < log.index("Step: Install python tree")
    assert _python(image, "import emulator, pip; print('ok')") == "ok"


@pytest.mark.slow
def test_without_uv_the_build_uses_venv_and_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "uv").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    assert shutil.which("uv") is None
    context = _context(tmp_path, EmulatorRoot(tmp_path / "root"), ["azureml-defaults"], None)
    image, log = _build(tmp_path, context)
    assert "uv is not installed; installing with pip" in log
    assert f"with python -m venv on python {PYTHON}" in log
    assert _python(image, "import emulator, pip; print('ok')") == "ok"


def test_a_failure_keeps_the_tools_first_error_above_a_long_traceback(tmp_path: Path) -> None:
    # uv's shape when building an sdist fails: the headline, then a traceback of many lines.
    code = (
        "print('error: Failed to build `scikit-learn==0.22.1`')\n"
        "for i in range(40): print(f'  File \"setup.py\", line {i}')\n"
        "raise SystemExit(1)"
    )
    run = run_logged([sys.executable, "-c", code], BuildLog(tmp_path / "log"))
    failure = run.failure("Install requirements", "Pin another version.")
    lines = failure.message.splitlines()
    assert lines[1:3] == ["error: Failed to build `scikit-learn==0.22.1`", "..."]
    assert lines[-2:] == ['  File "setup.py", line 39', "Pin another version."]
    assert len(lines) < 30

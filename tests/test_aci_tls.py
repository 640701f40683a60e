"""ACI with ``ssl_enabled=True``: HTTPS with the user's certificate, at the cname, on loopback.

Each test generates its own certificate authority and a server certificate for a cname under
``.test`` (a name no DNS ever resolves), so only the emulator can make the URI reachable.
"""

from __future__ import annotations

import datetime
import http.client
import json
import shutil
import socket
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator import AciWebservice, AzureMock, ContainerImage, Image, Webservice, Workspace
from emulator.errors import WebserviceException
from emulator.exceptions import BadArgument
from emulator.services.tls import TlsEndpoint

ASSETS = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Certificate:
    cname: str
    ca: Path  # what clients trust
    cert: Path  # what the service serves
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(directory: Path, cname: str) -> Certificate:
    """A throw-away CA and a server certificate for ``cname`` signed by it (PEM files)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("amlemu test CA"))
        .issuer_name(_name("amlemu test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(cname))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificate(cname, directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A certificate for a cname of this test only (tests may share a process: names differ)."""
    directory = tmp_path / "tls"
    directory.mkdir()
    return _issue(directory, f"scoring-{uuid.uuid4().hex[:8]}.contoso.test")


@pytest.fixture
def echo_image(aml_workspace: Workspace, workdir: Path) -> Image:
    shutil.copy(ASSETS / "scoring" / "score_echo.py", workdir / "score_echo.py")
    image = Image.create(
        aml_workspace, "echo", [], ContainerImage.image_configuration("score_echo.py", "python")
    )
    image.wait_for_creation()
    return image


def _ssl_config(cert: Certificate, **extra: object) -> object:
    return AciWebservice.deploy_configuration(
        ssl_enabled=True,
        ssl_cert_pem_file=str(cert.cert),
        ssl_key_pem_file=str(cert.key),
        ssl_cname=cert.cname,
        **extra,  # type: ignore[arg-type]
    )


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, 443)
    except socket.gaierror:
        return False
    return True


def test_ssl_service_serves_https_with_the_certificate_at_the_cname(
    aml_workspace: Workspace,
    echo_image: Image,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolver = socket.getaddrinfo
    assert not _resolves(certificate.cname)
    service = Webservice.deploy_from_image(
        aml_workspace, "tls-aci", echo_image, _ssl_config(certificate)
    )
    assert isinstance(service, AciWebservice)
    service.wait_for_deployment()
    assert service.state == "Healthy", service.get_logs()
    port = service.emulator_record.port
    assert port is not None
    assert service.scoring_uri == f"https://{certificate.cname}:{port}/score"
    assert service.swagger_uri == f"https://{certificate.cname}:{port}/swagger.json"
    assert service.ssl_enabled is True and service.cname == certificate.cname
    payload = service.serialize()
    assert payload["sslEnabled"] is True and payload["cname"] == certificate.cname

    # A client that trusts the CA reaches the service by its cname, the certificate checked.
    answer = requests.post(service.scoring_uri, json={"ping": 1}, verify=str(certificate.ca))
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.json()) == {"ping": 1}  # score_echo returns the raw body
    assert socket.getaddrinfo(certificate.cname, port)[0][4][0] == "127.0.0.1"
    context = ssl.create_default_context(cafile=str(certificate.ca))
    with (
        socket.create_connection((certificate.cname, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=certificate.cname) as tls,
    ):
        peer = tls.getpeercert()
    assert peer is not None
    subject = dict(item[0] for item in peer["subject"])  # type: ignore[misc]
    assert subject["commonName"] == certificate.cname

    # One that does not trust it fails, as against Azure with a self-signed certificate.
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.post(service.scoring_uri, json={}, verify=True)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        service.run(json.dumps({"ping": 2}))
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca))  # what service.run() trusts
    assert json.loads(service.run(json.dumps({"ping": 3}))) == {"ping": 3}

    # The port speaks TLS only: plain HTTP gets no answer.
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/score", data=b"{}", timeout=10)

    service.delete()
    assert not _resolves(certificate.cname)  # the name goes with the service
    assert socket.getaddrinfo is resolver


def test_the_azure_mock_shows_and_answers_azures_https_uri_on_the_cname(
    aml_workspace: Workspace, echo_image: Image, certificate: Certificate
) -> None:
    service = Webservice.deploy_from_image(
        aml_workspace, "tls-mock", echo_image, _ssl_config(certificate)
    )
    service.wait_for_deployment()
    loopback = service.scoring_uri
    with AzureMock(azure_uris=True):
        shown = Webservice(aml_workspace, "tls-mock")
        assert shown.scoring_uri == f"https://{certificate.cname}/score"  # Azure's shape
        assert shown.swagger_uri == f"https://{certificate.cname}/swagger.json"
        answer = requests.post(str(shown.scoring_uri), json={"ping": 4})  # in-process
        assert answer.status_code == 200 and json.loads(answer.json()) == {"ping": 4}
    assert shown.scoring_uri == loopback  # the real address back when the mock ends
    service.delete()


def test_a_file_that_is_not_the_certificate_fails_the_deployment_naming_it(
    aml_workspace: Workspace, echo_image: Image, certificate: Certificate, tmp_path: Path
) -> None:
    not_a_cert = tmp_path / "notes.pem"
    not_a_cert.write_text("not a certificate\n")
    config = AciWebservice.deploy_configuration(
        ssl_enabled=True,
        ssl_cert_pem_file=str(not_a_cert),
        ssl_key_pem_file=str(certificate.key),
        ssl_cname=certificate.cname,
    )
    with pytest.raises(WebserviceException) as raised:
        Webservice.deploy_from_image(aml_workspace, "tls-bad", echo_image, config)
    message = raised.value.message
    assert message.startswith("Error while reading ssl information:\n")
    assert f"ssl_cert_pem_file={str(not_a_cert)!r}" in message
    assert "Give a PEM certificate (chain) and its matching, unencrypted PEM private key" in message
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        Webservice(aml_workspace, "tls-bad")


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    first = _issue(tmp_path, "a.contoso.test")
    second = _issue(other, "a.contoso.test")
    endpoint = TlsEndpoint(first.cname, str(first.cert), str(second.key))
    with pytest.raises(BadArgument, match="KEY_VALUES_MISMATCH"):
        endpoint.context()


def test_an_encrypted_key_is_refused_instead_of_prompting(tmp_path: Path) -> None:
    issued = _issue(tmp_path, "a.contoso.test")
    key = serialization.load_pem_private_key(issued.key.read_bytes(), password=None)
    issued.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    endpoint = TlsEndpoint(issued.cname, str(issued.cert), str(issued.key))
    with pytest.raises(BadArgument, match="the private key is encrypted"):
        endpoint.context()


@pytest.mark.parametrize("cname", ["https://scoring.contoso.com", "scoring.contoso.com:443", ""])
def test_a_cname_that_is_not_a_host_name_is_refused(cname: str) -> None:
    refused = r"Invalid ssl_cname .*\(no scheme, port or path\)\.$"
    with pytest.raises(BadArgument, match=refused):
        TlsEndpoint(cname, "cert.pem", "key.pem")


def test_published_names_resolve_to_loopback_until_the_last_withdraw() -> None:
    resolver = socket.getaddrinfo
    endpoint = TlsEndpoint(f"twice-{uuid.uuid4().hex[:8]}.contoso.test", "c", "k")
    other = TlsEndpoint(f"other-{uuid.uuid4().hex[:8]}.contoso.test", "c", "k")
    endpoint.publish()
    endpoint.publish()  # two services of this process with the same cname
    try:
        assert socket.getaddrinfo(endpoint.cname.upper() + ".", 80)[0][4][0] == "127.0.0.1"
        assert not _resolves(other.cname)
        endpoint.withdraw()
        assert _resolves(endpoint.cname)
    finally:
        endpoint.withdraw()
    assert not _resolves(endpoint.cname)
    assert socket.getaddrinfo is resolver
    endpoint.withdraw()  # one too many: no effect
    assert socket.getaddrinfo is resolver


def test_ssl_settings_of_a_running_service_are_checked_and_not_silently_ignored(
    aml_workspace: Workspace, echo_image: Image, certificate: Certificate
) -> None:
    service = Webservice.deploy_from_image(
        aml_workspace, "plain-aci", echo_image, AciWebservice.deploy_configuration()
    )
    assert isinstance(service, AciWebservice)
    service.wait_for_deployment()
    with pytest.raises(WebserviceException) as raised:
        service.update(ssl_cert_pem_file=str(certificate.cert), ssl_key_pem_file="missing.pem")
    assert raised.value.message == (
        "Error, SSL must be enabled in order to update SSL cert/key.\n"
        "Error, unable to find ssl_key_pem_file at provided path: missing.pem\n"
    )
    with pytest.raises(WebserviceException, match="deploy it again with overwrite=True"):
        service.update(
            ssl_enabled=True,
            ssl_cert_pem_file=str(certificate.cert),
            ssl_key_pem_file=str(certificate.key),
            ssl_cname=certificate.cname,
        )
    assert str(service.scoring_uri).startswith("http://127.0.0.1:")
    service._check_ssl_update(False, None, None, None)  # restating the settings is no change
    service.delete()

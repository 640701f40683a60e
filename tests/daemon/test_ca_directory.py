"""``REQUESTS_CA_BUNDLE`` as a hashed CA directory: requests still verifies the emulator, still
reaches the hosts the process trusted before, still refuses the rest, and a new connection parses
the one certificate it needs instead of the whole bundle."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from emulator.daemon.ca import LocalCA
from emulator.daemon.ca_directory import pem_to_der, subject_hash, write_directory
from emulator.daemon.client_env import client_environment
from emulator.daemon.trust import certificates

SYSTEM_CERTS = Path("/etc/ssl/certs")


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the connection stays open after the answer, as the ARM face's

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _https(cert: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on loopback presenting ``cert``; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _hash(pem: bytes) -> str:
    return subject_hash(pem_to_der(pem))


def _served(ca: LocalCA) -> contextlib.AbstractContextManager[str]:
    return _https(ca.server_cert, ca.server_key)


def test_requests_verifies_the_emulator_and_the_hosts_trusted_before_and_refuses_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = LocalCA.for_root(tmp_path / "emulator")
    proxy = LocalCA.for_root(tmp_path / "proxy")  # a host the process trusted before
    stranger = LocalCA.for_root(tmp_path / "stranger")  # trusted by nobody
    variables = client_environment(
        emulator, "https://127.0.0.1:1", "s", {"SSL_CERT_FILE": str(proxy.ca_cert)}
    )
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert Path(variables["REQUESTS_CA_BUNDLE"]).is_dir()
    with _served(emulator) as here, _served(proxy) as there, _served(stranger) as elsewhere:
        with requests.get(here, stream=True) as answer:  # trust from the variable, as azure-core
            context = answer.raw.connection.sock.context
            assert answer.content == b"hello"
        # parsed for this connection: the CAs named as the emulator's issuer (the proxy's CA here
        # is another LocalCA, of the same name), not the bundle's 100+ with certifi's roots
        [emulator_pem] = certificates([emulator.ca_cert])
        named = list(Path(variables["REQUESTS_CA_BUNDLE"]).glob(f"{_hash(emulator_pem)}.*"))
        assert context.cert_store_stats()["x509_ca"] == len(named) == 2
        assert len(certificates([Path(variables["SSL_CERT_FILE"])])) > 100
        assert requests.get(there).content == b"hello"
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            requests.get(elsewhere)


def _name_with_every_canonical_rule() -> x509.Name:
    """A subject OpenSSL must canonicalise: case, spaces, BMP/T61/Universal/Printable strings,
    non-ASCII text and a multi-valued RDN."""
    return x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
            x509.RelativeDistinguishedName(
                [
                    # encoded, the OU sorts first; canonical, the O is shorter and sorts first
                    x509.NameAttribute(
                        NameOID.ORGANIZATION_NAME, "  Café" + " " * 60 + "Contoso\tLtd  "
                    ),
                    x509.NameAttribute(
                        NameOID.ORGANIZATIONAL_UNIT_NAME,
                        "Machine Learning Operations",
                        _type=_ASN1Type.BMPString,
                    ),
                ]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.LOCALITY_NAME, "Zürich", _type=_ASN1Type.T61String)]
            ),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(
                        NameOID.STATE_OR_PROVINCE_NAME, "Bayern", _type=_ASN1Type.UniversalString
                    )
                ]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.COMMON_NAME, "Emulator  ROOT  CA")]
            ),
        ]
    )


def _issue(tmp_path: Path, subject: x509.Name) -> tuple[Path, Path, Path]:
    """A CA named ``subject`` and a 127.0.0.1 server certificate it signed: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_openssl_finds_an_issuer_by_the_name_the_directory_gives_it(tmp_path: Path) -> None:
    """OpenSSL looks the issuer up by its own hash of the name: a wrong hash is a failed
    handshake."""
    ca, cert, key = _issue(tmp_path, _name_with_every_canonical_rule())
    directory = write_directory(certificates([ca]), tmp_path)
    with _https(cert, key) as url:
        assert requests.get(url, verify=str(directory)).content == b"hello"


def test_the_names_are_those_openssl_rehash_gave_the_system_store() -> None:
    links = sorted(SYSTEM_CERTS.glob("*.[0-9]")) if SYSTEM_CERTS.is_dir() else []
    if not links:
        pytest.skip(f"no hashed CA directory at {SYSTEM_CERTS} to compare with")
    for link in links:
        assert _hash(link.read_bytes()) == link.name.split(".")[0], link


def test_a_malformed_certificate_is_left_out_and_the_rest_kept(tmp_path: Path) -> None:
    good = certificates([LocalCA.for_root(tmp_path / "r").ca_cert])
    broken = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----"
    directory = write_directory([broken, *good], tmp_path)
    assert certificates([directory]) == good
    assert write_directory([broken, *good], tmp_path) == directory  # written once

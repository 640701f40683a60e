"""The emulator's local certificate authority: HTTPS on loopback that clients can verify.

The real ``azure-ai-ml`` client refuses bearer tokens over plain HTTP (azure-core's
``BearerTokenCredentialPolicy``), so the ARM face must speak TLS, and the client must be able to
verify it. A CA is generated once per emulator root (``<root>/daemon/tls/``, key readable by the
owner only) and never leaves the machine: nothing but ``amlemu env``'s trust bundle points at it.
Its server certificate names the loopback addresses only (127.0.0.1, ::1, localhost), and the CA
itself is constrained to those names (X.509 name constraints), so even a leaked CA key cannot
vouch for any other host.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The names the server certificate (and, by constraint, anything the CA signs) may carry.
LOOPBACK_NAMES: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    x509.IPAddress(ipaddress.ip_address("::1")),
)
_CA_YEARS = 10
_SERVER_DAYS = 397  # the longest validity clients such as browsers accept for a server cert


@dataclass(frozen=True)
class LocalCA:
    """The PEM files of one root's CA and its loopback server certificate."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def _ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @classmethod
    def for_root(cls, root: Path) -> LocalCA:
        """The CA of an emulator root, generated on first use (the same one every later time)."""
        ca = cls(root / "daemon" / "tls")
        ca.ensure()
        return ca

    def ensure(self) -> None:
        """Create the CA if missing, and a server certificate if missing or expiring soon."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Two processes starting on one root at once must not both generate a CA.
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (self.ca_cert.is_file() and self._ca_key.is_file()):
                self._create_ca()
            if not self._server_cert_fresh():
                self._create_server_cert()

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the loopback certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def _create_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "azureml-emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "azureml-emulator local CA"),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365 * _CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.NameConstraints(
                    permitted_subtrees=[
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")),
                        x509.IPAddress(ipaddress.ip_network("::1/128")),
                    ],
                    excluded_subtrees=None,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self._ca_key, _key_pem(key))
        _write_public(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM))

    def _server_cert_fresh(self) -> bool:
        if not (self.server_cert.is_file() and self.server_key.is_file()):
            return False
        cert = x509.load_pem_x509_certificate(self.server_cert.read_bytes())
        ca = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        expiring = cert.not_valid_after_utc - _now() < datetime.timedelta(days=30)
        return cert.issuer == ca.subject and not expiring

    def _create_server_cert(self) -> None:
        ca_key = serialization.load_pem_private_key(self._ca_key.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self._ca_key} is not an EC key: delete {self.directory} to renew")
        ca = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=_SERVER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(list(LOOPBACK_NAMES)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(self.server_key, _key_pem(key))
        _write_public(self.server_cert, cert.public_bytes(serialization.Encoding.PEM))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a key readable by the owner only, atomically (a reader never sees half a key)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

"""The local CA (once per root, loopback names only) and the trust clients get: the emulator's
CA plus the trust already in force, as one file and as the same certificates in a directory."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from emulator.daemon.ca import LocalCA
from emulator.daemon.client_env import client_environment
from emulator.daemon.trust import certificates, write_trust


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_ca_is_generated_once_per_root(tmp_path: Path) -> None:
    first = LocalCA.for_root(tmp_path).ca_cert.read_bytes()
    again = LocalCA.for_root(tmp_path)
    assert again.ca_cert.read_bytes() == first
    assert (again.directory / "ca-key.pem").stat().st_mode & 0o077 == 0
    assert again.server_key.stat().st_mode & 0o077 == 0
    assert LocalCA.for_root(tmp_path / "other").ca_cert.read_bytes() != first


def test_the_certificates_name_loopback_only(tmp_path: Path) -> None:
    ca = LocalCA.for_root(tmp_path)
    names = _cert(ca.server_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert set(names.value.get_values_for_type(x509.DNSName)) == {"localhost"}
    assert set(names.value.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    constraints = _cert(ca.ca_cert).extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert x509.DNSName("localhost") in (constraints.value.permitted_subtrees or [])


def test_the_bundle_holds_the_emulator_ca_and_the_existing_ssl_cert_file(tmp_path: Path) -> None:
    ca = LocalCA.for_root(tmp_path / "root")
    proxy_ca = LocalCA.for_root(tmp_path / "proxy").ca_cert  # stands for a TLS proxy's CA
    other = LocalCA.for_root(tmp_path / "requests").ca_cert
    environ = {"SSL_CERT_FILE": str(proxy_ca), "REQUESTS_CA_BUNDLE": str(other)}
    bundle, directory = write_trust(ca.ca_cert, tmp_path / "bundle.pem", environ)
    pems = certificates([bundle])
    for source in (ca.ca_cert, proxy_ca, other):
        [pem] = certificates([source])
        assert pem in pems
    assert pems[0] == certificates([ca.ca_cert])[0]
    assert len(pems) > 3  # certifi's roots are kept too: real Azure still verifies
    assert sorted(certificates([directory])) == sorted(pems)  # the same trust, as a directory


def test_a_directory_the_user_trusted_before_is_kept(tmp_path: Path) -> None:
    """``requests`` takes a directory in ``REQUESTS_CA_BUNDLE`` (``openssl rehash`` layout)."""
    ca = LocalCA.for_root(tmp_path / "root")
    users = tmp_path / "users-cas"
    users.mkdir()
    [theirs] = certificates([LocalCA.for_root(tmp_path / "theirs").ca_cert])
    (users / "0a1b2c3d.0").write_bytes(theirs)
    bundle, directory = write_trust(
        ca.ca_cert, tmp_path / "b.pem", {"REQUESTS_CA_BUNDLE": str(users)}
    )
    assert theirs in certificates([bundle])
    assert theirs in certificates([directory])


def test_building_the_bundle_from_an_environment_using_it_changes_nothing(
    tmp_path: Path,
) -> None:
    ca = LocalCA.for_root(tmp_path)
    first = client_environment(ca, "https://127.0.0.1:1", "s", {})
    bundle = Path(first["SSL_CERT_FILE"])
    before = bundle.read_bytes()
    second = client_environment(ca, "https://127.0.0.1:1", "s", first)
    assert second == first
    assert bundle.read_bytes() == before
    assert Path(first["REQUESTS_CA_BUNDLE"]).is_dir()


def test_a_missing_trust_file_does_not_stop_the_bundle(tmp_path: Path) -> None:
    ca = LocalCA.for_root(tmp_path)
    bundle, _ = write_trust(ca.ca_cert, tmp_path / "b.pem", {"SSL_CERT_FILE": "/nonexistent.pem"})
    assert certificates([bundle])[0] == certificates([ca.ca_cert])[0]

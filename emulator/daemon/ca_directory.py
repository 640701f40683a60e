"""The clients' trust as a hashed CA directory: one certificate parsed per connection, not all.

``requests`` (urllib3 2.x) builds a new ``SSLContext`` for every new connection and loads
``REQUESTS_CA_BUNDLE`` into it. A bundle *file* is parsed whole each time: the emulator's CA plus
the system's and certifi's roots (167 certificates, 253 KB) cost 25-50 ms of CPU per new
connection, and an ``azure-ai-ml`` session opens one per operation group and LRO poller (~90 per
test file of tests/arm/). ``requests`` accepts a directory in the same variable (urllib3's
``ca_cert_dir``, i.e. ``SSLContext.load_verify_locations(capath=...)``): OpenSSL then reads a
certificate only when verification asks for an issuer by name, from the file named after the
hash of that name. The directory holds exactly the bundle's certificates, so what is trusted and
how it is verified do not change.

File names are OpenSSL's (``openssl rehash``/``c_rehash``): ``<hash>.<n>``, where ``hash`` is
``X509_NAME_hash_ex`` of the subject: SHA-1 of the name's canonical encoding (string values as
UTF-8, ASCII lower-cased, surrounding spaces dropped and inner runs of spaces collapsed; each RDN
a DER ``SET OF`` without the outer ``SEQUENCE``), its first four bytes read little-endian. The
directory is named after its content, so processes writing it at once agree on one path, and a
client never sees it half written (it is renamed into place complete).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_SPACE = b" \t\n\v\f\r"  # OpenSSL's ossl_isspace
_SPACES = re.compile(rb"[ \t\n\v\f\r]+")
_UTF8, _BMP, _UNIVERSAL = 0x0C, 0x1E, 0x1C
#: The string types OpenSSL canonicalises (ASN1_MASK_CANON) and their width in bytes per
#: character (1: each byte one character, as ASN1_STRING_to_UTF8 reads them; 0: UTF-8).
_CANON_WIDTH = {_UTF8: 0, 0x13: 1, 0x14: 1, 0x16: 1, 0x1A: 1, _BMP: 2, _UNIVERSAL: 4}
_PEM_BODY = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def write_directory(pems: Sequence[bytes], parent: Path) -> Path:
    """The directory ``parent/trust-<digest of pems>`` holding ``pems`` under OpenSSL's hashed
    names, written unless it exists; a certificate whose subject OpenSSL could not hash either
    (malformed) is left out, as a lookup by name could never find it."""
    digest = hashlib.sha256(b"\n".join(pems)).hexdigest()[:16]
    target = parent / f"trust-{digest}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        taken: Counter[str] = Counter()
        for pem in pems:
            try:
                name = subject_hash(pem_to_der(pem))
            except ValueError:
                continue
            (staging / f"{name}.{taken[name]}").write_bytes(pem.rstrip(b"\n") + b"\n")
            taken[name] += 1
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a client run as another user
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():  # not another process's identical directory: a real failure
            raise
    return target


def pem_to_der(pem: bytes) -> bytes:
    """The DER bytes of one PEM certificate."""
    match = _PEM_BODY.search(pem)
    if match is None:
        raise ValueError("not a PEM certificate")
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except ValueError as exc:
        raise ValueError(f"not a PEM certificate: {exc}") from exc


def subject_hash(der: bytes) -> str:
    """OpenSSL's subject-name hash of a DER certificate, as ``openssl x509 -subject_hash``
    prints it (8 hex digits)."""
    digest = hashlib.sha1(_canonical_name(_subject(der))).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def _subject(der: bytes) -> bytes:
    """The content of the subject ``Name`` of a DER certificate."""
    _, start, _ = _element(der, 0, 0x30)  # Certificate
    _, pos, _ = _element(der, start, 0x30)  # TBSCertificate
    tag, _, end = _element(der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for expected in (0x02, 0x30, 0x30, 0x30):  # serial, signature, issuer, validity
        _, _, pos = _element(der, pos, expected)
    _, start, end = _element(der, pos, 0x30)
    return der[start:end]


def _canonical_name(name: bytes) -> bytes:
    """OpenSSL's canonical encoding of a ``Name``'s content (x509_name_canon)."""
    out = bytearray()
    pos = 0
    while pos < len(name):
        _, start, pos = _element(name, pos, 0x31)  # one RDN: SET OF AttributeTypeAndValue
        entries = []
        inner = start
        while inner < pos:
            _, entry, inner = _element(name, inner, 0x30)
            _, _, value = _element(name, entry, 0x06)  # the attribute's type: an OID
            entries.append(_tlv(0x30, name[entry:value] + _canonical_value(name, value)))
        out += _tlv(0x31, b"".join(sorted(entries)))  # DER orders a SET OF by encoding
    return bytes(out)


def _canonical_value(data: bytes, pos: int) -> bytes:
    tag, start, end = _element(data, pos)
    width = _CANON_WIDTH.get(tag)
    if width is None:  # not a string type OpenSSL canonicalises: kept as encoded
        return data[pos:end]
    text = _utf8(data[start:end], width)
    text = _SPACES.sub(b" ", text.strip(_SPACE)).lower()  # bytes.lower: ASCII letters only
    return _tlv(_UTF8, text)


def _utf8(raw: bytes, width: int) -> bytes:
    """A string value as UTF-8, as ASN1_STRING_to_UTF8 converts it (surrogates refused)."""
    if width == 0:
        raw.decode("utf-8")  # raises ValueError where OpenSSL fails too
        return raw
    if len(raw) % width:
        raise ValueError("truncated string value")
    points = [int.from_bytes(raw[i : i + width], "big") for i in range(0, len(raw), width)]
    if any(0xD800 <= point <= 0xDFFF or point > 0x10FFFF for point in points):
        raise ValueError("not a Unicode character")
    return "".join(map(chr, points)).encode("utf-8")


def _element(data: bytes, pos: int, expected: int | None = None) -> tuple[int, int, int]:
    """``(tag, content start, end)`` of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    if expected is not None and tag != expected:
        raise ValueError(f"DER tag {tag:#x} where {expected:#x} was expected")
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or pos + size > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content

"""azmlinfsrv 1.5.1's recorded ``curl -i`` transcripts, parsed at test time.

The transcripts were recorded from the real server (``../shared/research/golden/``) and are read
from there at test time (:func:`golden`); byte-identical copies live in ``tests/golden/`` so a
clean clone without the shared research replays them too, and so do the recordings this project
made itself, which only the copies hold (``test_golden_transcripts.py`` checks the copies
against the shared originals wherever those exist). A transcript is
``# comment`` lines, ``$ curl ...`` (shell-quoted, possibly over several lines), a blank line,
the raw response (CRLF header lines, blank line, body) and one newline the recorder added.

The request is rebuilt from the curl command as curl sends it (``-d`` without a Content-Type
sends ``application/x-www-form-urlencoded``; ``-H 'Name:'`` removes a header); arguments the
recording elided or read from files (``@big.json``) cannot be rebuilt and are refused, so a test
passes that body itself.
"""

from __future__ import annotations

import re
import shlex
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from server_harness import UUID, Reply, parse_reply

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
#: The shared originals, next to the repository's checkout (absent on a clean clone).
SHARED_GOLDEN = REPO.parent / "shared" / "research" / "golden"

#: Headers gunicorn adds (the emulator keeps connections alive and is not gunicorn) and the
#: clock: never compared.
UNCOMPARED = frozenset({"server", "date", "connection"})
#: Values that differ on every run: compared by shape in the tests, not by value.
PER_RUN = frozenset({"x-request-id", "x-ms-request-id", "x-ms-run-fn-exec-ms"})
_FORM = "application/x-www-form-urlencoded"
_ELIDED = re.compile(r"<[^<>]* elided>")
_EXEC_MS = re.compile(r"^\d+\.\d{3}$")


@dataclass(frozen=True)
class CurlRequest:
    """What ``curl`` sent: method, target (path and query), headers in order, body."""

    method: str
    target: str
    host: str
    headers: list[tuple[str, str]]
    body: bytes | None

    def raw(self) -> bytes:
        """The bytes curl sent (its own headers first, then ``-H``, then the body's)."""
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {self.host}"]
        lines += ["User-Agent: curl/7.88.1", "Accept: */*"]
        lines += [f"{key}: {value}" for key, value in self.headers]
        if self.body is not None:
            lines.insert(
                len(lines) - _typed_last(self.headers), f"Content-Length: {len(self.body)}"
            )
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (self.body or b"")


@dataclass(frozen=True)
class Transcript:
    """One recorded exchange: the curl arguments and the response as received."""

    name: str
    curl: list[str]
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def request(self) -> CurlRequest:
        """The request curl made, rebuilt from its arguments."""
        return _curl_request(self.name, self.curl)


def golden(name: str) -> Path:
    """Where the recording ``name`` is read from: the shared original when the shared research
    is next to the checkout and has it, else the repository's copy."""
    shared = SHARED_GOLDEN / name
    return shared if shared.is_file() else GOLDEN / name


def load(name: str) -> Transcript:
    """Parse the recording ``name`` (:func:`golden`); malformed files fail loudly, naming it."""
    data = golden(name).read_bytes()
    command: list[str] = []
    rest = data
    while rest.startswith(b"#"):
        rest = rest.split(b"\n", 1)[1]
    if rest.startswith(b"$ "):
        head, separator, rest = rest.partition(b"\n\nHTTP/")
        if not separator:
            raise ValueError(f"{name}: no HTTP response after the command")
        # '<9007-byte argument elided>' is one argument the recorder left out
        command = shlex.split(_ELIDED.sub("'<elided>'", head[2:].decode()))
        rest = b"HTTP/" + rest
    head, separator, body = rest.partition(b"\r\n\r\n")
    if not separator:
        raise ValueError(f"{name}: the response has no blank line after its headers")
    lines = head.decode("latin-1").split("\r\n")
    headers = [_header(name, line) for line in lines[1:]]
    transcript = Transcript(name, command, lines[0], headers, b"")
    if "-I" in command:
        return transcript
    length = transcript.header("Content-Length")
    if length is not None:
        body = body[: int(length)]
    elif body.endswith(b"\n"):
        body = body[:-1]  # the newline the recorder wrote after the output
    return Transcript(name, command, lines[0], headers, body)


def _header(name: str, line: str) -> tuple[str, str]:
    key, separator, value = line.partition(": ")
    if not separator:
        raise ValueError(f"{name}: {line!r} is not a header line")
    return key, value


def _curl_request(name: str, argv: list[str]) -> CurlRequest:
    if not argv or argv[0] != "curl":
        raise ValueError(f"{name}: not a curl command: {argv[:1]}")
    method: str | None = None
    url = ""
    headers: list[tuple[str, str]] = []
    removed: set[str] = set()
    body: bytes | None = None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-sS", "-i", "-s", "-S"):
            continue
        if arg == "-I":
            method = "HEAD"
        elif arg == "-X":
            method = next(args)
        elif arg == "-H":
            value = next(args)
            if value.startswith("<"):
                raise ValueError(f"{name}: the recording elided a header ({value})")
            key, _, header_value = value.partition(":")
            if header_value.strip():
                headers.append((key, header_value.strip()))
            else:
                removed.add(key.lower())
        elif arg in ("-d", "--data-binary"):
            value = next(args)
            if value.startswith("@"):
                raise ValueError(f"{name}: the body was read from a file ({value})")
            body = value.encode()
        elif arg.startswith("http://"):
            url = arg
        else:
            raise ValueError(f"{name}: unsupported curl argument {arg!r}")
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    typed = any(k.lower() == "content-type" for k, _ in headers) or "content-type" in removed
    if body is not None and not typed:
        headers.append(("Content-Type", _FORM))
    method = method or ("POST" if body is not None else "GET")
    return CurlRequest(method, target, parts.netloc, headers, body)


def _typed_last(headers: list[tuple[str, str]]) -> int:
    """1 when curl's own form Content-Type ends the headers (it follows Content-Length)."""
    return 1 if headers and headers[-1] == ("Content-Type", _FORM) else 0


def replay(
    port: int,
    transcript: Transcript,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """Send the transcript's request as curl sent it (``Host`` included) and read the answer.

    ``body``/``headers`` replace what the recording could not keep (a file, an elided header).
    The answer is read up to its Content-Length: curl did not ask to close the connection.
    """
    request = (
        transcript.request()
        if body is None and headers is None
        else _rebuilt(transcript, body, headers)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request.raw())
        data = b""
        while True:
            chunk = sock.recv(1 << 20)
            data += chunk
            if not chunk or _complete(data, request.method == "HEAD"):
                break
    return parse_reply(data, head_only=request.method == "HEAD")


def _rebuilt(
    transcript: Transcript, body: bytes | None, headers: list[tuple[str, str]] | None
) -> CurlRequest:
    argv = [arg for arg in transcript.curl if not arg.startswith(("<", "@"))]
    kept = [arg for index, arg in enumerate(argv) if not _dangling(argv, index)]
    request = _curl_request(transcript.name, kept)
    return replace(
        request,
        headers=[*request.headers, *(headers or [])],
        body=body if body is not None else request.body,
    )


def _dangling(argv: list[str], index: int) -> bool:
    """An option whose value was removed (the next argument is another option or the URL)."""
    if argv[index] not in ("-H", "-d", "--data-binary"):
        return False
    following = argv[index + 1] if index + 1 < len(argv) else "-"
    return following.startswith(("-", "http://"))


def _complete(data: bytes, head_only: bool) -> bool:
    while data.startswith(b"HTTP/1.1 100"):
        data = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    if head_only:
        return True
    match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
    return match is not None and len(body) >= int(match.group(1))


def assert_replays(reply: Reply, transcript: Transcript) -> None:
    """The reply is the recorded one: status line, headers in order, body byte for byte.

    ``Server``, ``Connection`` and ``Date`` are not compared (see :data:`UNCOMPARED`). Per-run
    values are compared by shape: a generated request id is a fresh UUID4 (and the same in both
    id headers when it was recorded so), an execution time has three decimals; ids the client
    sent are compared exactly.
    """
    assert reply.status_line == transcript.status_line, transcript.name
    got = [(k, v) for k, v in reply.headers if k.lower() not in UNCOMPARED]
    expected = [(k, v) for k, v in transcript.headers if k.lower() not in UNCOMPARED]
    assert [k for k, _ in got] == [k for k, _ in expected], transcript.name
    for (key, value), (_, recorded) in zip(got, expected, strict=True):
        if key.lower() == "x-ms-run-fn-exec-ms":
            assert _EXEC_MS.match(value), (key, value)
        elif key.lower() in PER_RUN and UUID.match(recorded):
            assert UUID.match(value), (key, value)
        else:
            assert value == recorded, (transcript.name, key, value, recorded)
    generated = transcript.header("x-request-id")
    if generated and transcript.header("x-ms-request-id") == generated:
        assert reply.header("x-ms-request-id") == reply.header("x-request-id")
    assert reply.body == transcript.body, transcript.name

"""The committed transcripts are the recorded ones, and they are read the way curl sent them."""

from __future__ import annotations

import pytest
from golden_transcripts import GOLDEN, SHARED_GOLDEN, golden, load

#: Copies of the shared recordings; the transcripts this project recorded itself (App Insights,
#: the swagger schema) live only in tests/golden/, because the shared research is read-only here.
COPIES = sorted(path.name for path in GOLDEN.glob("*.txt") if (SHARED_GOLDEN / path.name).is_file())


@pytest.mark.skipif(not SHARED_GOLDEN.is_dir(), reason=f"no shared research at {SHARED_GOLDEN}")
@pytest.mark.parametrize("name", COPIES)
def test_copy_is_byte_identical_to_the_shared_recording(name: str) -> None:
    shared = SHARED_GOLDEN / name
    assert (GOLDEN / name).read_bytes() == shared.read_bytes(), (
        f"tests/golden/{name} differs from {shared}: copy it again (cp {shared} tests/golden/)"
    )


@pytest.mark.skipif(not SHARED_GOLDEN.is_dir(), reason=f"no shared research at {SHARED_GOLDEN}")
def test_replays_read_the_shared_recordings_and_the_copies_only_for_the_rest() -> None:
    assert golden("infsrv-score-good.txt") == SHARED_GOLDEN / "infsrv-score-good.txt"
    only_copied = [path.name for path in GOLDEN.glob("*.txt") if path.name not in COPIES]
    assert all(golden(name) == GOLDEN / name for name in only_copied)


def test_crlf_is_kept_in_the_copies() -> None:
    # git must not normalise line ends (tests/golden/.gitattributes): responses are CRLF
    assert b"HTTP/1.1 200 OK\r\n" in (GOLDEN / "infsrv-score-good.txt").read_bytes()


def test_curl_requests_are_rebuilt_as_curl_sends_them() -> None:
    good = load("infsrv-score-good.txt").request()
    assert (good.method, good.target, good.host) == ("POST", "/score", "127.0.0.1:31311")
    assert good.headers == [("Content-Type", "application/json")]
    assert good.body == b'{"data": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}'
    # -d without a Content-Type: curl sends the form type, after Content-Length
    put = load("infsrv-put-score.txt").request()
    assert put.method == "PUT" and put.headers == [
        ("Content-Type", "application/x-www-form-urlencoded")
    ]
    assert put.raw().endswith(
        b"Content-Length: 2\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{}"
    )
    # -H 'Content-Type:' removes the header; -I is HEAD; a multi-line quoted body is kept
    assert load("infsrv-score-no-content-type.txt").request().headers == []
    assert load("infsrv-head-liveness.txt").request().method == "HEAD"
    assert load("infsrv-rawhttp-post.txt").request().body == b"a,b\n1,2\n"


def test_recorded_answers_are_parsed() -> None:
    head = load("infsrv-head-liveness.txt")
    assert head.status_line == "HTTP/1.1 200 OK"
    assert head.header("Content-Length") == "7" and head.body == b""
    aml = load("infsrv-score-returns-aml.txt")
    assert [k for k, _ in aml.headers].count("X-Custom") == 2
    assert aml.body == b"plain text body"


def test_requests_the_recording_could_not_keep_are_refused() -> None:
    with pytest.raises(ValueError, match="elided a header"):
        load("infsrv-header-too-large.txt").request()
    with pytest.raises(ValueError, match="read from a file"):
        load("infsrv-score-non-utf8-body.txt").request()

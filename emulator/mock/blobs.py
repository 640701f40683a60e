"""Fake downloads: files registered under a URL (a storage blob, usually) and served by the mock.

Scripts and notebooks fetch their model from ``https://<account>.blob.core.windows.net/...``;
registering the URL with a local file (or bytes) lets that code run unchanged and offline. The
query string is ignored (SAS tokens differ per run); a file is read when it is requested, so
it may be rewritten between downloads.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from emulator.mock.errors import UnmatchedAzureURL
from emulator.server.messages import HttpResponse

Content = bytes | str | os.PathLike[str]


def _key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), unquote(parts.path)


class BlobTable:
    """URL → content; answers ``GET`` and ``HEAD`` like Azure Blob Storage."""

    def __init__(self) -> None:
        self._blobs: dict[tuple[str, str], bytes | Path] = {}

    def add(self, url: str, content: Content) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"add_blob needs an http(s) URL with a host, not {url!r}")
        if isinstance(content, bytes):
            self._blobs[_key(url)] = content
            return
        path = Path(content)
        if not path.is_file():
            raise FileNotFoundError(
                f"add_blob({url!r}, ...): {str(path)!r} is not a file; pass an existing file's "
                "path or the content as bytes"
            )
        self._blobs[_key(url)] = path.resolve()

    def __contains__(self, url: str) -> bool:
        return _key(url) in self._blobs

    def answer(self, method: str, url: str) -> HttpResponse:
        """The blob at ``url`` (which must be registered) for ``GET`` or ``HEAD``."""
        if method.upper() not in ("GET", "HEAD"):
            raise UnmatchedAzureURL(
                f"AzureMock: {method} {url}: registered blobs can only be read (GET, HEAD)"
            )
        stored = self._blobs[_key(url)]
        body = stored if isinstance(stored, bytes) else stored.read_bytes()
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(body))),
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-request-id", str(uuid.uuid4())),
        ]
        return HttpResponse(200, headers, b"" if method.upper() == "HEAD" else body, "OK")

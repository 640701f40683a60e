"""The web URLs this emulator root serves in place of the internet: URL → a local file or folder.

Jobs read ``https://`` inputs (a public CSV, a blob container's folder) that this machine cannot
reach. A user registers each URL with the local copy that stands for it (``amlemu data
serve-url URL PATH``, or :meth:`ServedUrls.serve`); inputs are then read from that copy, live
(a changed file is read as changed, as a web server would serve it), and any other URL fails as
an unreachable input does in Azure.

A folder registered at ``https://host/data`` also serves what is under it:
``https://host/data/part-1.csv`` is ``<folder>/part-1.csv``. URLs match without their query
(a SAS token) or fragment, with the scheme and host case-insensitive and no trailing slash.
Per root, in ``<root>/assets/served-urls.sqlite3``, so the daemon, ``amlemu`` and tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from emulator.exceptions import BadArgument, NotFound
from emulator.store.database import Database, timestamp
from emulator.store.root import EmulatorRoot

_SCHEMA = """
CREATE TABLE IF NOT EXISTS served_urls (
    url TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    created_time TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class ServedUrl:
    """One registered URL (normalized) and the local file or folder standing for it."""

    url: str
    path: Path
    created_time: str


class ServedUrls:
    """The URLs served under one emulator root."""

    def __init__(self, root: EmulatorRoot) -> None:
        directory = root.path / "assets"
        directory.mkdir(exist_ok=True)
        self._db = Database(directory / "served-urls.sqlite3", schema=_SCHEMA, version=1)

    def serve(self, url: str, path: Path) -> ServedUrl:
        """Serve ``path`` (an existing file or folder, kept by absolute path) at ``url``;
        replaces an earlier registration of the same URL."""
        key = normalize(url)
        source = path.expanduser().resolve()
        if not source.exists():
            raise BadArgument(
                f"Cannot serve {url}: {path} does not exist. Give an existing file or folder."
            )
        created = timestamp()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO served_urls VALUES (?, ?, ?)", (key, str(source), created)
            )
        return ServedUrl(key, source, created)

    def forget(self, url: str) -> None:
        """Stop serving ``url`` (exactly as registered, after normalization)."""
        key = normalize(url)
        with self._db.transaction() as conn:
            removed = conn.execute("DELETE FROM served_urls WHERE url=?", (key,)).rowcount
        if not removed:
            raise NotFound(f"{key} is not served. `amlemu data urls` lists the served URLs.")

    def all(self) -> list[ServedUrl]:
        """Every served URL, in URL order."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM served_urls ORDER BY url").fetchall()
        return [ServedUrl(r["url"], Path(r["path"]), r["created_time"]) for r in rows]

    def local_path(self, url: str) -> Path | None:
        """The local file or folder standing for ``url``: its own registration, else the
        longest registered folder URL it is under (None when no registration covers it)."""
        key = normalize(url)
        best: ServedUrl | None = None
        for served in self.all():
            covers = key == served.url or key.startswith(served.url + "/")
            if covers and (best is None or len(served.url) > len(best.url)):
                best = served
        if best is None:
            return None
        rest = key[len(best.url) :].strip("/")
        if rest and ".." in rest.split("/"):
            return None
        return best.path / rest if rest else best.path


def normalize(url: str) -> str:
    """``url`` as registrations are matched: scheme and host lower-case; no query, fragment or
    trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadArgument(
            f"{url!r} is not a web URL: give an http:// or https:// URL "
            "(https://host/path/file.csv, or a folder https://host/path)."
        )
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"

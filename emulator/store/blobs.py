"""Content-addressed, immutable file store shared by every workspace of a root.

A blob is written to a temporary file, fsynced and renamed into ``sha256/<aa>/<rest>``; a
rename is atomic, so a reader never sees a half blob and a killed writer leaves only a
temporary file, which :meth:`BlobStore.sweep` removes. Identical files are stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

_CHUNK = 1024 * 1024
_GRACE_SECONDS = 3600.0


class BlobStore:
    """Files keyed by the SHA-256 of their content under ``<root>/blobs``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, digest: str) -> Path:
        """Where the blob with this digest lives (it may not exist)."""
        return self.root / "sha256" / digest[:2] / digest[2:]

    def put(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` into the store; returns ``(digest, size)``."""
        hasher = hashlib.sha256()
        size = 0
        tmp = self._tmp / f"{os.getpid()}-{time.monotonic_ns()}.part"
        try:
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            digest = hasher.hexdigest()
            final = self.path_for(digest)
            if final.exists():
                tmp.unlink()
                os.utime(final)  # fresh mtime: protects a reused blob from a concurrent sweep
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
            return digest, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def verify(self, digest: str) -> bool:
        """True when the blob exists and its content still hashes to ``digest``."""
        path = self.path_for(digest)
        if not path.is_file():
            return False
        hasher = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    def materialize(self, digest: str, dest: Path, executable: bool = False) -> None:
        """Write the blob to ``dest`` as a plain writable file (never a link into the store)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path_for(digest), dest)
        os.chmod(dest, 0o755 if executable else 0o644)

    def sweep(self, referenced: set[str] | None = None) -> int:
        """Remove temporary files of dead writers and, given ``referenced``, unreferenced blobs.

        Blobs touched within the last hour are kept even when unreferenced: a registration in
        another process may have stored them and not yet committed its row. Returns the number
        of files removed.
        """
        removed = 0
        now = time.time()
        for tmp in self._tmp.glob("*.part"):
            pid = int(tmp.name.split("-", 1)[0])
            if not pid_alive(pid) or now - tmp.stat().st_mtime > _GRACE_SECONDS:
                tmp.unlink(missing_ok=True)
                removed += 1
        if referenced is not None:
            for blob in (self.root / "sha256").glob("*/*"):
                unused = blob.parent.name + blob.name not in referenced
                if unused and now - blob.stat().st_mtime > _GRACE_SECONDS:
                    blob.unlink(missing_ok=True)
                    removed += 1
        return removed


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

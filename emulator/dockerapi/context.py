"""A build context as the Docker client sends it (a tar stream), unpacked into a directory.

``docker build`` uploads the whole context directory as a tar (``azure-ai-ml`` sends the
deployment's directory under ``~/.azureml/inferencing/``). Only regular files and directories
are unpacked, and only inside the destination: a member with an absolute path, ``..``, a link
or a device is refused, as a safe unpacker must (Python's ``data`` filter, which not every
supported Python has).
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
from pathlib import Path
from typing import IO

from emulator.exceptions import BadArgument


def unpack_context(stream: IO[bytes], destination: Path) -> set[str]:
    """Unpack the tar (plain or compressed) read from ``stream`` into ``destination``; returns
    the files it held, as relative POSIX paths."""
    files: set[str] = set()
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                name = posixpath.normpath(member.name)
                if name in (".", ""):
                    continue
                if name.startswith(("/", "../")) or name == "..":
                    raise BadArgument(
                        f"The build context holds {member.name!r}, a path outside the context."
                    )
                if member.isdir():
                    (destination / name).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise BadArgument(
                        f"The build context holds {member.name!r}, which is not a regular file "
                        "or directory. [emulator] Links and devices are not unpacked; copy the "
                        "file itself into the context."
                    )
                source = archive.extractfile(member)
                if source is None:
                    continue
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                files.add(name)
    except tarfile.TarError as exc:
        raise BadArgument(f"The build context is not a valid tar archive: {exc}") from None
    return files

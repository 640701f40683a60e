"""The service page's Model data section: the CSV files its ``ModelDataCollector`` objects
wrote (``collect_model_data=True``), laid out as Azure's ``modeldata`` blobs, with the newest
rows of each; swapped in by the page's live refresh like the telemetry table."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from markupsafe import escape

#: Rows shown per file (its newest, after the header line).
ROWS = 5


def section(service: str, data: dict[str, Any]) -> str:
    """The section's HTML: each file and its last rows, or why there is nothing."""
    folder = escape(data["folder"])
    if not data["files"]:
        if data["collectModelData"]:
            return (
                '<p class="muted">Model data collection is on; nothing collected yet '
                f"(files appear under <code>{folder}</code>).</p>"
            )
        return (
            '<p class="muted">Model data collection is off for this service: deploy it to AKS '
            "with <code>collect_model_data=True</code> (or <code>service.update("
            "collect_model_data=True)</code>) and call <code>ModelDataCollector.collect()</code> "
            "in the scoring script to see its inputs and predictions here.</p>"
        )
    parts = [
        f'<p class="muted">Files under <code>{folder}</code> (Azure\'s <code>modeldata</code> '
        f"container paths); <code>amlemu describe services {escape(service)}</code> lists "
        "them.</p>"
    ]
    for file in data["files"]:
        path = Path(data["folder"]) / file["path"]
        parts.append(
            f"<details><summary><code>{escape(file['path'])}</code> · {file['lines']} lines · "
            f"{file['bytes']} bytes · {escape(file['modified'])}</summary>"
            f"<pre>{escape(_head_and_tail(path))}</pre></details>"
        )
    return "".join(parts)


def _head_and_tail(path: Path) -> str:
    """The header line and the newest :data:`ROWS` lines of a collected file, read from its
    end (the live refresh asks on every poll; a day's file can be large), with line endings
    read as a text reader does (the CSV writer ends rows with ``\\r\\n``)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
            start = handle.tell()
            position = handle.seek(0, io.SEEK_END)
            tail = b""
            while position > start and tail.count(b"\n") <= ROWS:
                step = min(_BLOCK, position - start)
                position -= step
                handle.seek(position)
                tail = handle.read(step) + tail
    except OSError:
        return "(removed)"
    return "".join(_text(line) for line in [first, *tail.splitlines(keepends=True)[-ROWS:]])


#: Bytes read at a time from the file's end.
_BLOCK = 1 << 16


def _text(line: bytes) -> str:
    """One line as ``open(encoding="utf-8", errors="replace")`` reads it: ending in ``\\n``."""
    body = line.rstrip(b"\r\n")
    return body.decode("utf-8", errors="replace") + ("\n" if len(body) < len(line) else "")

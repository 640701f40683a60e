"""The service page's Model data section: the CSV files its ``ModelDataCollector`` objects
wrote (``collect_model_data=True``), laid out as Azure's ``modeldata`` blobs, with the newest
rows of each; swapped in by the page's live refresh like the telemetry table."""

from __future__ import annotations

from collections import deque
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
    """The header line and the newest :data:`ROWS` lines of a collected file."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
            last = deque(handle, maxlen=ROWS)
    except OSError:
        return "(removed)"
    return first + "".join(last)

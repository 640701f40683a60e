"""What a service collected with ``ModelDataCollector`` (``collect_model_data=True``): its
folder under the workspace's ``modeldata`` container and the CSV files in it, for ``amlemu
describe`` and the portal's service page."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.services.model_data import collected_files, collects, service_folder

if TYPE_CHECKING:
    from emulator.sdk.webservice import Webservice


def model_data_details(service: Webservice) -> dict[str, Any]:
    """The switch, the service's folder (Azure's blob path prefix) and each file: its path
    below the folder, size, lines (the header included: a collector given feature names writes
    one) and last write (UTC)."""
    record = service.emulator_record
    state = service.workspace.emulator_state
    folder = service_folder(state.root, state.record, record.name)
    files = []
    for path in collected_files(state.root, state.record, record.name):
        try:
            stat = path.stat()
            lines = count_lines(path)
        except OSError:  # removed meanwhile
            continue
        modified = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.timezone.utc)
        files.append(
            {
                "path": path.relative_to(folder).as_posix(),
                "bytes": stat.st_size,
                "lines": lines,
                "modified": modified.isoformat(timespec="seconds"),
            }
        )
    return {
        "collectModelData": collects(record.compute_type, record.settings),
        "folder": str(folder),
        "files": files,
    }


#: Bytes read at a time when counting: the count runs in C per block, not per line in Python.
_BLOCK = 1 << 20


def count_lines(path: Path) -> int:
    """The file's lines as a text reader sees them: every newline, plus a last line a writer
    has not ended yet (a row being appended while we read)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")

"""A service's collected files as the portal and ``amlemu describe`` show them: line counts and
the newest rows read without a pass over each file line by line in Python, equal to what a text
reader sees, for files larger than one read block and rows a writer has not ended yet."""

from __future__ import annotations

from pathlib import Path

from emulator.portal.model_data import section
from emulator.views.model_data import count_lines

HEADER = "$aml_dc_correlation_id,$aml_dc_scoring_timestamp,feature\r\n"


def _rows(count: int) -> str:
    return "".join(f"id-{n},2026-12-03T18:00:00,{n * 7}\r\n" for n in range(count))


def test_a_large_file_counts_and_shows_its_header_and_newest_rows(tmp_path: Path) -> None:
    # 60,000 rows: several of the counter's and the tail reader's blocks.
    path = tmp_path / "m" / "1" / "inputs" / "data.csv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + _rows(60_000), encoding="utf-8", newline="")
    assert count_lines(path) == 60_001
    data = {
        "collectModelData": True,
        "folder": str(tmp_path),
        "files": [{"path": "m/1/inputs/data.csv", "lines": 60_001, "bytes": 1, "modified": "x"}],
    }
    shown = section("svc", data)
    newest = "".join(f"id-{n},2026-12-03T18:00:00,{n * 7}\n" for n in range(59_995, 60_000))
    assert HEADER.replace("\r\n", "\n") + newest in shown
    assert "id-59994," not in shown


def test_a_row_being_written_counts_as_a_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(HEADER + _rows(2) + "id-2,2026", encoding="utf-8", newline="")
    assert count_lines(path) == 4
    path.write_bytes(b"")
    assert count_lines(path) == 0

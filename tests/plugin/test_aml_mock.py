"""``aml_mock``: the in-process mock is active for the test that asks for it."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

mock = pytest.importorskip("emulator.mock", reason="emulator.mock (the in-process mock) is absent")


def test_blob_urls_are_answered_in_process(aml_mock: Any, tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00weights\x01")
    url = "https://account.blob.core.windows.net/models/model.bin"
    aml_mock.add_blob(url, model)
    with urllib.request.urlopen(f"{url}?sv=2020-08-04&sig=secret", timeout=5) as answer:
        assert answer.read() == b"\x00weights\x01"


def test_unknown_azure_urls_fail_loudly(aml_mock: Any) -> None:
    with pytest.raises(mock.UnmatchedAzureURL, match=r"mock\.add_blob"):
        urllib.request.urlopen("https://account.blob.core.windows.net/models/none", timeout=5)

"""``amlemu data serve-url|urls|unserve-url``: registrations land in the root the resolver reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.assets.served_urls import ServedUrls
from emulator.cli.main import main
from emulator.settings import ROOT_ENV
from emulator.store.root import EmulatorRoot


def test_serve_list_and_unserve_a_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    monkeypatch.setenv(ROOT_ENV, str(root))  # main() sets it from --root: restored afterwards
    page = tmp_path / "t.csv"
    page.write_text("t\n")
    url = "https://example.test/data/t.csv"
    assert main(["--root", str(root), "data", "serve-url", url, str(page)]) == 0
    assert f"Serving {url} from the file {page}" in capsys.readouterr().out
    assert ServedUrls(EmulatorRoot(root)).local_path(url) == page
    assert main(["--root", str(root), "data", "urls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"url": url, "path": str(page)}]
    assert main(["--root", str(root), "data", "unserve-url", url]) == 0
    assert main(["--root", str(root), "data", "urls"]) == 0
    assert "No URLs are served" in capsys.readouterr().out


def test_serving_a_missing_path_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    missing = tmp_path / "nope"
    args = ["--root", str(tmp_path / "root"), "data", "serve-url", "https://h.test/a", str(missing)]
    assert main(args) == 1
    assert f"{missing} does not exist" in capsys.readouterr().err

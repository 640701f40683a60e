"""The promises the repository makes to a new user and to CI."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README must open with a bash block of setup commands"
    assert text.index(block.group(0)) < text.index("## "), "the commands come first"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    demo, tests = _readme_commands()
    assert "amlemu demo" in demo
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = _readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_fixtures_is_not_an_importable_package() -> None:
    assert not (REPO / "fixtures" / "__init__.py").exists()

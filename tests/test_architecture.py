"""ARCHITECTURE.md names every module where it lives, and draws the layers lint-imports checks.

The module map is how a newcomer finds where something lives; a module missing from it is a
module nobody will find. Each ``.py`` file of ``emulator/`` and ``plugins/pytest_amlemu/`` must
appear by file name inside its top-level package's entry (``emulator/`` itself for top-level
modules). Exempt: ``__init__.py`` / ``__main__.py`` of packages below the top level, and the
gRPC code generated from ``accel/proto/*.proto`` (the map names the folder). The Layers diagram
lists the layers of the contract in pyproject.toml in the same order, so the picture people read
is the one ``lint-imports`` enforces.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "plugins/pytest_amlemu"
_GENERATED = re.compile(r"_pb2(_grpc)?\.py$")


def module_map(text: str) -> str:
    """The fenced block of ARCHITECTURE.md that starts with ``emulator/``."""
    found = re.search(r"```\n(emulator/ .*?)```", text, re.DOTALL)
    assert found is not None, "ARCHITECTURE.md must hold the module map (a block from emulator/)"
    return found.group(1)


def sections(block: str) -> dict[str, str]:
    """Each package's entry: ``emulator`` (lines at the top level of emulator/),
    ``emulator/<pkg>`` (its line and the lines below it), and the plugin's."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in block.splitlines():
        entry = re.match(r"^( {0,2})(\S+)", line)
        if entry is not None:
            indent, name = len(entry.group(1)), entry.group(2)
            if indent == 0:
                current = {"emulator/": "emulator", f"{PLUGIN}/": PLUGIN}.get(name)
            elif indent == 2 and current is not None and current.startswith("emulator"):
                current = f"emulator/{name.rstrip('/')}" if name.endswith("/") else "emulator"
        if current is not None:
            found.setdefault(current, []).append(line)
    return {key: "\n".join(lines) for key, lines in found.items()}


def section_of(module: Path) -> str:
    parts = module.relative_to(REPO).parts
    if parts[0] == "plugins":
        return PLUGIN
    return "emulator" if len(parts) == 2 else f"emulator/{parts[1]}"


def is_exempt(module: Path) -> bool:
    top_level = module.parent in (REPO / "emulator", REPO / PLUGIN)
    dunder = module.name in ("__init__.py", "__main__.py")
    return (dunder and not (top_level and module.name == "__main__.py")) or bool(
        _GENERATED.search(module.name)
    )


def unlisted(text: str) -> list[str]:
    """The modules of the tree that ARCHITECTURE.md does not name where they live."""
    entries = sections(module_map(text))
    missing = []
    for root in (REPO / "emulator", REPO / PLUGIN):
        for module in sorted(root.rglob("*.py")):
            if is_exempt(module):
                continue
            entry = entries.get(section_of(module), "")
            if not re.search(rf"(?<![\w./]){re.escape(module.name)}\b", entry):
                missing.append(str(module.relative_to(REPO)))
    return missing


def test_architecture_names_every_module() -> None:
    missing = unlisted((REPO / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    assert not missing, (
        "ARCHITECTURE.md does not name these modules in their package's entry; add a line "
        "saying what each is for:\n  " + "\n  ".join(missing)
    )


def test_a_module_named_only_in_another_package_counts_as_missing() -> None:
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    # naming.py is listed under models/ and images/; dropping it from images/ must be noticed.
    images_entry = sections(module_map(text))["emulator/images"]
    edited = text.replace(images_entry, images_entry.replace("naming.py", "nam1ng.py"))
    assert "emulator/images/naming.py" in unlisted(edited)
    assert "emulator/models/naming.py" not in unlisted(edited)


def contract_layers(pyproject: str) -> list[str]:
    """The layers of the emulator's layers contract in pyproject.toml, parentheses dropped."""
    contract = pyproject[pyproject.index('containers = ["emulator"]') :]
    body = contract[contract.index("layers = [") : contract.index("\n]")]
    return [
        re.sub(r"[()]", "", layer)
        for layer in re.findall(r'^\s*"([^"]+)",\s*$', body, re.MULTILINE)
    ]


def documented_layers(text: str) -> list[str]:
    """The first column of ARCHITECTURE.md's Layers diagram (``a | b`` kept whole)."""
    section = text[text.index("## Layers") :]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the Layers section must hold the diagram"
    return [re.split(r"\s{2,}", line.strip())[0] for line in block.group(1).splitlines()]


def test_the_layers_diagram_is_the_checked_contract() -> None:
    documented = documented_layers((REPO / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    checked = contract_layers((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert documented == checked, (
        "ARCHITECTURE.md's Layers diagram and the import-linter contract in pyproject.toml "
        f"disagree; make them the same order.\n  documented: {documented}\n  checked: {checked}"
    )

"""Regression guard: code reaches a workspace's state through ``emulator.state`` or
``Workspace.emulator_state`` and a face object's row through ``emulator_record``, never through
the faces' private attributes (which a second face, the coming REST one, would not have)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Private attributes the v1 ``Workspace`` held (or holds) for its state.
WORKSPACE_PRIVATE = frozenset({"_images", "_root", "_compute", "_models", "_state"})
#: The row a v1 face object (Model, Image, Webservice, ComputeTarget) was read from.
FACE_RECORD = "_record"
#: How the v1 faces build an object from a row, and a service's operation id.
FACE_PRIVATE = frozenset({"_from_record", "_operation_id"})
OWNER = Path("emulator/sdk/workspace.py")
V1_FACES = Path("emulator/sdk")


def _names_a_workspace(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name == "ws" or name.endswith("workspace")


def violations(source: str, path: Path) -> list[str]:
    """``file:line: expression`` for every private state access ``path`` may not make."""
    found = []
    in_v1_faces = V1_FACES in path.parents
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if (
            node.attr in WORKSPACE_PRIVATE
            or (node.attr in FACE_PRIVATE and not in_v1_faces)
            or (node.attr == FACE_RECORD and (not in_v1_faces or _names_a_workspace(node.value)))
        ):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reaches_state_through_private_attributes() -> None:
    found = []
    for top in ("emulator", "plugins"):
        for file in sorted((REPO / top).rglob("*.py")):
            path = file.relative_to(REPO)
            if path != OWNER:
                found += violations(file.read_text(encoding="utf-8"), path)
    assert found == [], (
        "Use workspace.emulator_state (or emulator.state.workspace_states), "
        "<model|image|service|target>.emulator_record, image_of / webservice_of and "
        "service.emulator_operation_id instead of:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    ("path", "source", "flagged"),
    [
        ("emulator/cli/ls.py", "ws._images.records()", ["ws._images"]),
        ("emulator/faults/api.py", "f(workspace._root.path)", ["workspace._root"]),
        ("emulator/cli/ls.py", "model._record.kind", ["model._record"]),
        ("emulator/views/resources.py", "Image._from_record(ws, r)", ["Image._from_record"]),
        ("emulator/portal/pages.py", "service._operation_id", ["service._operation_id"]),
        ("emulator/sdk/webservice/base.py", "Webservice._from_record(ws, r)", []),
        ("emulator/sdk/image.py", "self.workspace._compute.get(n)", ["self.workspace._compute"]),
        ("emulator/sdk/model.py", "workspace._record.id", ["workspace._record"]),
        # Within the v1 faces, one face may read another's row (Model.deploy reads the image's).
        ("emulator/sdk/webservice/deploy.py", "image._record", []),
        ("emulator/cli/ls.py", "self._record.kind; cls._root", []),
        ("emulator/cli/ls.py", "ws.emulator_state.images; model.emulator_record", []),
    ],
)
def test_the_guard_flags_private_state_access(path: str, source: str, flagged: list[str]) -> None:
    assert [v.split(": ", 1)[1] for v in violations(source, Path(path))] == flagged

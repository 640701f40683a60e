"""Registration across processes: concurrent versions and crashes mid-registration."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from emulator import Model, Workspace
from emulator.store.root import EmulatorRoot

pytestmark = pytest.mark.slow

_REGISTER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from emulator import Model, Workspace
    from emulator.store import blobs

    go_file, source, name, stall_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if stall_after:
        original_put, calls = blobs.BlobStore.put, []
        def put(self, path):
            if len(calls) == stall_after:
                Path(go_file + ".stalled").write_text("")
                time.sleep(600)
            calls.append(path)
            return original_put(self, path)
        blobs.BlobStore.put = put
    ws = Workspace("sub", "rg", "ws")
    while not os.path.exists(go_file):
        time.sleep(0.005)
    print(Model.register(ws, source, name).version)
    """
)


def _spawn(root: Path, workdir: Path, go: Path, source: str, stall_after: int = 0):
    env = {**os.environ, "AZUREML_EMULATOR_ROOT": str(root)}
    return subprocess.Popen(
        [sys.executable, "-c", _REGISTER, str(go), source, "model", str(stall_after)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_consistent(root: Path) -> None:
    """Every row has all of its blobs, intact; version counters are ahead of every version."""
    store = EmulatorRoot(root)
    conn = sqlite3.connect(root / "registry.sqlite3")
    for (digest,) in conn.execute("SELECT digest FROM model_files"):
        assert store.blobs.verify(digest), f"blob {digest} missing or corrupt"
    orphans = conn.execute(
        "SELECT COUNT(*) FROM models m WHERE NOT EXISTS "
        "(SELECT 1 FROM model_files f WHERE f.model_id = m.id)"
    ).fetchone()[0]
    assert orphans == 0, "a model row without files"
    behind = conn.execute(
        "SELECT COUNT(*) FROM models m JOIN model_versions v "
        "ON v.workspace_id = m.workspace_id AND v.name = m.name WHERE m.version > v.last_version"
    ).fetchone()[0]
    assert behind == 0
    conn.close()


@pytest.fixture
def shared_root(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "root"
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
    monkeypatch.chdir(tmp_path)
    Workspace("sub", "rg", "ws")
    return root


def _folder(base: Path, files: int) -> str:
    folder = base / "model"
    folder.mkdir()
    for i in range(files):
        (folder / f"part-{i:04d}.bin").write_bytes(os.urandom(2048) + str(i).encode())
    return "model"


def test_eight_processes_get_versions_one_to_eight(shared_root: Path, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"weights")
    go = tmp_path / "go"
    procs = [_spawn(shared_root, tmp_path, go, "model.pkl") for _ in range(8)]
    time.sleep(1.0)  # let every child import and open the workspace, then release them at once
    go.write_text("")
    versions = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        versions.append(int(out.strip().splitlines()[-1]))
    assert sorted(versions) == list(range(1, 9))
    ws = Workspace("sub", "rg", "ws")
    assert [m.version for m in Model.list(ws)] == list(range(8, 0, -1))
    _assert_consistent(shared_root)


def test_sigkill_mid_copy_leaves_no_half_model(shared_root: Path, tmp_path: Path) -> None:
    source = _folder(tmp_path, 40)
    go = tmp_path / "go"
    go.write_text("")
    proc = _spawn(shared_root, tmp_path, go, source, stall_after=20)
    deadline = time.monotonic() + 60
    while not Path(str(go) + ".stalled").exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    ws = Workspace("sub", "rg", "ws")
    assert Model.list(ws) == []
    _assert_consistent(shared_root)

    model = Model.register(ws, source, "model")
    assert model.version == 1
    restored = Path(model.download(tmp_path / "out"))
    assert sorted(p.name for p in restored.iterdir()) == sorted(
        p.name for p in (tmp_path / source).iterdir()
    )


def test_sigkill_at_many_points_keeps_the_store_consistent(
    shared_root: Path, tmp_path: Path
) -> None:
    source = _folder(tmp_path, 800)
    go = tmp_path / "go"
    go.write_text("")
    started = time.monotonic()
    complete = _spawn(shared_root, tmp_path, go, source)
    assert complete.wait(timeout=120) == 0
    full_run = time.monotonic() - started  # kill later runs at fractions of a whole run
    for fraction in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97):
        proc = _spawn(shared_root, tmp_path, go, source)
        time.sleep(full_run * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _assert_consistent(shared_root)
    ws = Workspace("sub", "rg", "ws")
    before = {m.version for m in Model.list(ws)}
    after = Model.register(ws, source, "model")
    assert after.version > max(before)
    assert len(after.emulator_record.files) == 800
    _assert_consistent(shared_root)
    EmulatorRoot(shared_root).blobs.sweep()
    assert not any((shared_root / "blobs" / "tmp").glob("*.part"))

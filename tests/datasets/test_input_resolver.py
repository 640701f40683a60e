"""The input resolver the batch job engine calls: every form a job's input arrives in made local
files, and every input that cannot be read failing with Azure's text and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.assets.blob_containers import BlobContainers
from emulator.assets.data import DataAssets
from emulator.assets.datastore import blob_container, storage_account
from emulator.assets.inputs import materialize
from emulator.assets.served_urls import ServedUrls
from emulator.exceptions import BadArgument, Conflict, NotFound
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceRecord, WorkspaceStore

DS = "azureml://datastores/workspaceblobstore/paths"


@pytest.fixture
def root(tmp_path: Path) -> EmulatorRoot:
    return EmulatorRoot(tmp_path / "root")


@pytest.fixture
def ws(root: EmulatorRoot, tmp_path: Path) -> WorkspaceRecord:
    """A workspace whose default datastore holds ``in/a.csv``, ``in/sub/b.csv`` and ``t/``
    (an MLTable folder)."""
    record, _ = WorkspaceStore(root).create("sub", "rg", "ws")
    blobs = BlobContainers(root)
    for name, text in {
        "in/a.csv": "a\n",
        "in/sub/b.csv": "b\n",
        "t/MLTable": "paths: []\n",
        "t/rows.csv": "x\n",
        "plain/c.csv": "c\n",
    }.items():
        source = tmp_path / "src"
        source.write_text(text)
        blobs.put(storage_account(record), blob_container(record), name, source)
    return record


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_datastore_file_is_copied_by_its_name(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    files = materialize(root, ws.id, f"{DS}/in/a.csv", "uri_file", tmp_path / "job")
    assert files == [tmp_path / "job" / "a.csv"]
    assert files[0].read_text() == "a\n"
    # the jobs API's spelling of the type (jobInputType) is the same type
    assert materialize(root, ws.id, f"{DS}/in/a.csv", "UriFile", tmp_path / "api") == [
        tmp_path / "api" / "a.csv"
    ]


def test_a_datastore_folder_keeps_its_tree_in_the_short_and_long_forms(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    short = materialize(root, ws.id, f"{DS}/in/", "uri_folder", tmp_path / "short")
    assert [p.relative_to(tmp_path / "short").as_posix() for p in short] == [
        "a.csv",
        "sub/b.csv",
    ]
    long_uri = (
        "azureml://subscriptions/sub/resourcegroups/rg/workspaces/WS/datastores/"
        "workspaceblobstore/paths/in"
    )
    materialize(root, ws.id, long_uri, "uri_folder", tmp_path / "long")
    assert _tree(tmp_path / "long") == {"a.csv": "a\n", "sub/b.csv": "b\n"}


def test_data_assets_by_version_label_and_arm_id(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    assets = DataAssets(root, ws.id)
    assets.put("d", "1", {"dataType": "uri_folder", "dataUri": f"{DS}/in"})
    assets.put("d", "2", {"dataType": "uri_folder", "dataUri": f"{DS}/plain/"})
    assert _tree_of(root, ws, "azureml:d:1", tmp_path / "v1") == {"a.csv", "sub/b.csv"}
    assert _tree_of(root, ws, "azureml:d@latest", tmp_path / "latest") == {"c.csv"}
    arm_id = (
        "azureml:/subscriptions/sub/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws/data/d/versions/1"
    )
    assert _tree_of(root, ws, arm_id, tmp_path / "arm") == {"a.csv", "sub/b.csv"}


def _tree_of(root: EmulatorRoot, ws: WorkspaceRecord, uri: str, into: Path) -> set[str]:
    return {
        p.relative_to(into).as_posix() for p in materialize(root, ws.id, uri, "uri_folder", into)
    }


def test_an_mltable_folder_needs_its_mltable_file(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    files = materialize(root, ws.id, f"{DS}/t", "mltable", tmp_path / "t")
    assert [f.name for f in files] == ["MLTable", "rows.csv"]
    with pytest.raises(BadArgument, match=r"no MLTable file at its top.*declare the input uri_f"):
        materialize(root, ws.id, f"{DS}/plain", "mltable", tmp_path / "p")


def test_a_file_declared_a_folder_and_the_reverse_name_the_type_to_declare(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    with pytest.raises(BadArgument, match=r"is a folder: declare the input uri_folder"):
        materialize(root, ws.id, f"{DS}/in", "uri_file", tmp_path / "x")
    with pytest.raises(BadArgument, match=r"is a file: declare the input uri_file"):
        materialize(root, ws.id, f"{DS}/in/a.csv", "uri_folder", tmp_path / "y")
    DataAssets(root, ws.id).put("f", "1", {"dataType": "uri_file", "dataUri": f"{DS}/in/a.csv"})
    with pytest.raises(BadArgument, match=r"uri_file data asset f:1.*Input\(type='uri_file'"):
        materialize(root, ws.id, "azureml:f:1", "uri_folder", tmp_path / "z")


def test_missing_inputs_fail_with_azures_text_and_the_fix(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    cases = {
        f"{DS}/nothing/here.csv": "No file is there",
        "azureml://datastores/other/paths/a.csv": "default datastore 'workspaceblobstore' only",
        "azureml://subscriptions/sub/resourcegroups/rg/workspaces/ws2/datastores/"
        "workspaceblobstore/paths/in/a.csv": "It names the workspace 'ws2'",
        "azureml:missing:3": "data asset missing:3 does not exist in workspace ws",
    }
    for uri, why in cases.items():
        with pytest.raises(NotFound, match="Found no resources for the input provided") as info:
            materialize(root, ws.id, uri, "uri_file", tmp_path / "x")
        assert why in str(info.value)
        assert info.value.code == "UserError"
    with pytest.raises(BadArgument, match="only label is 'latest'"):
        materialize(root, ws.id, "azureml:d@prod", "uri_file", tmp_path / "x")
    with pytest.raises(BadArgument, match="is not one a job can read"):
        materialize(root, ws.id, "/home/me/data.csv", "uri_file", tmp_path / "x")
    with pytest.raises(BadArgument, match="not a file or folder input"):
        materialize(root, ws.id, f"{DS}/in/a.csv", "string", tmp_path / "x")


def test_served_urls_stand_for_web_inputs_and_folders_serve_what_is_under_them(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    folder = tmp_path / "heart"
    (folder / "part").mkdir(parents=True)
    (folder / "part" / "1.csv").write_text("one\n")
    (folder / "2.csv").write_text("two\n")
    urls = ServedUrls(root)
    urls.serve("HTTPS://Example.Blob.Core.Windows.NET/data/heart/", folder)
    materialize(
        root,
        ws.id,
        "https://example.blob.core.windows.net/data/heart",
        "uri_folder",
        tmp_path / "a",
    )
    assert _tree(tmp_path / "a") == {"2.csv": "two\n", "part/1.csv": "one\n"}
    files = materialize(
        root,
        ws.id,
        "https://example.blob.core.windows.net/data/heart/part/1.csv?sv=2021&sig=x",
        "uri_file",
        tmp_path / "b",
    )
    assert [(f.name, f.read_text()) for f in files] == [("1.csv", "one\n")]
    (folder / "2.csv").write_text("changed\n")  # served live, as a web server would
    files = materialize(
        root,
        ws.id,
        "https://example.blob.core.windows.net/data/heart/2.csv",
        "uri_file",
        tmp_path / "c",
    )
    assert files[0].read_text() == "changed\n"


def test_a_data_asset_on_a_served_url_reads_through(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    page = tmp_path / "t.csv"
    page.write_text("t\n")
    ServedUrls(root).serve("https://h.test/t.csv", page)
    DataAssets(root, ws.id).put(
        "web", "1", {"dataType": "uri_file", "dataUri": "https://h.test/t.csv"}
    )
    files = materialize(root, ws.id, "azureml:web:1", "uri_file", tmp_path / "in")
    assert [f.read_text() for f in files] == ["t\n"]


def test_unserved_urls_fail_as_unreachable_and_name_the_cli_verb(
    root: EmulatorRoot, ws: WorkspaceRecord, tmp_path: Path
) -> None:
    with pytest.raises(NotFound) as info:
        materialize(root, ws.id, "https://nowhere.test/a.csv", "uri_file", tmp_path / "x")
    message = str(info.value)
    assert "Found no resources for the input provided: 'https://nowhere.test/a.csv'" in message
    assert "amlemu data serve-url URL PATH" in message
    gone = tmp_path / "gone.csv"
    gone.write_text("x")
    ServedUrls(root).serve("https://h.test/gone.csv", gone)
    gone.unlink()
    with pytest.raises(NotFound, match=r"served from .*gone\.csv, which no longer exists"):
        materialize(root, ws.id, "https://h.test/gone.csv", "uri_file", tmp_path / "y")


def test_served_url_registrations_are_checked_and_can_be_removed(
    root: EmulatorRoot, tmp_path: Path
) -> None:
    urls = ServedUrls(root)
    with pytest.raises(BadArgument, match="is not a web URL"):
        urls.serve("ftp://h.test/a", tmp_path)
    with pytest.raises(BadArgument, match="does not exist"):
        urls.serve("https://h.test/a", tmp_path / "missing")
    urls.serve("https://h.test/a/", tmp_path)
    assert [(s.url, s.path) for s in urls.all()] == [("https://h.test/a", tmp_path.resolve())]
    assert urls.local_path("https://h.test/a/../../etc/passwd") is None
    assert urls.local_path("https://h.test/ab") is None
    urls.forget("https://h.test/a")
    assert urls.all() == []
    with pytest.raises(NotFound, match="is not served"):
        urls.forget("https://h.test/a")


def test_data_versions_keep_their_uri_and_type_but_take_new_tags(
    root: EmulatorRoot, ws: WorkspaceRecord
) -> None:
    assets = DataAssets(root, ws.id)
    spec = {"dataType": "uri_file", "dataUri": f"{DS}/in/a.csv", "tags": {}}
    assets.put("d", "1", spec)
    updated = assets.put("d", "1", {**spec, "tags": {"k": "v"}, "isArchived": True})
    assert (updated.spec["tags"], updated.archived) == ({"k": "v"}, True)
    with pytest.raises(Conflict, match="data uri cannot be changed"):
        assets.put("d", "1", {**spec, "dataType": "uri_folder"})
    with pytest.raises(BadArgument, match=r"data type 'csv'.*uri_file, uri_folder, mltable"):
        assets.put("d", "2", {**spec, "dataType": "csv"})
    with pytest.raises(BadArgument, match="has no dataUri"):
        assets.put("d", "2", {"dataType": "uri_file"})
    container = assets.container("d")
    assert container is not None
    assert (container.latest_version, container.next_version, container.archived) == (
        "1",
        "2",
        True,
    )

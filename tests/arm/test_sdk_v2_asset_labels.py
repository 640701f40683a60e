"""``label="latest"``, archive and restore of models and environments through the real
``azure-ai-ml`` client, as Azure answers them: the latest is the newest version that is not
archived, archiving a name archives its versions (and ones created after), archived assets stay
readable by version, and ``list_view_type`` picks active, archived or all. One server and one
client for the module; each test works on names of its own."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from azure.ai.ml import MLClient
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import Data, Environment, Model
from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer
from emulator.settings import ROOT_ENV, STRICT_ENV
from emulator.store.root import EmulatorRoot
from tests.arm.conftest import point_the_client_at

SUB = "11111111-2222-3333-4444-555555555555"
CONDA = "name: scoring\ndependencies:\n- python=3.11\n"
ALL, ARCHIVED = ListViewType.ALL, ListViewType.ARCHIVED_ONLY


@dataclass(frozen=True)
class World:
    server: EmulatorServer
    client: MLClient
    work: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("labels-root")
    work = tmp_path_factory.mktemp("labels-work")
    with pytest.MonkeyPatch.context() as patch, EmulatorServer(EmulatorRoot(root)) as server:
        patch.setenv(ROOT_ENV, str(root))
        patch.delenv(STRICT_ENV, raising=False)
        point_the_client_at(server, patch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
        yield World(server, client, work)


def _model(world: World, name: str, content: str) -> Model:
    """Register ``content`` as the next version of ``name`` (no version: the client asks the
    name's container for its ``nextVersion``)."""
    path = world.work / f"{name}-{content}.txt"
    path.write_text(content)
    return world.client.models.create_or_update(Model(name=name, path=str(path)))


def _versions(assets: object) -> list[str | None]:
    return [a.version for a in assets]  # type: ignore[attr-defined]


def test_a_model_s_latest_is_its_newest_version_that_is_not_archived(world: World) -> None:
    models = world.client.models
    assert [_model(world, "latest-m", c).version for c in ("a", "b")] == ["1", "2"]
    assert models.get("latest-m", label="latest").version == "2"
    models.archive("latest-m", "2")
    assert models.get("latest-m", label="latest").version == "1"
    assert _versions(models.list("latest-m")) == ["1"]
    assert _versions(models.list("latest-m", list_view_type=ARCHIVED)) == ["2"]
    assert _versions(models.list("latest-m", list_view_type=ALL)) == ["2", "1"]
    archived = models.get("latest-m", "2")  # still usable by its version, as in Azure
    assert archived.path is not None and archived.path.endswith("/latest-m-b.txt")
    models.restore("latest-m", "2")
    assert models.get("latest-m", label="latest").version == "2"


def test_archiving_a_model_name_archives_its_versions_and_later_ones(world: World) -> None:
    models = world.client.models
    _model(world, "named-m", "a")
    _model(world, "other-m", "a")
    models.archive("named-m")
    assert {m.name for m in models.list()} >= {"other-m"}
    assert "named-m" not in {m.name for m in models.list()}
    assert "named-m" in {m.name for m in models.list(list_view_type=ARCHIVED)}
    assert _versions(models.list("named-m")) == []
    with pytest.raises(MlException, match="Asset named-m does not exist in workspace ws"):
        models.get("named-m", label="latest")
    assert _model(world, "named-m", "b").version == "2"  # created under the archived name
    assert _versions(models.list("named-m", list_view_type=ARCHIVED)) == ["2", "1"]
    models.restore("named-m")
    assert _versions(models.list("named-m")) == ["2", "1"]
    by_name = {m.name: m.latest_version for m in models.list()}
    assert by_name["named-m"] == "2" and by_name["other-m"] == "1"


def test_an_environment_s_latest_skips_archived_versions(world: World) -> None:
    environments = world.client.environments
    conda = world.work / "conda.yml"
    conda.write_text(CONDA)
    first = environments.create_or_update(
        Environment(name="latest-e", image="python:3.11", conda_file=str(conda), description="d")
    )
    second = environments.create_or_update(Environment(name="latest-e", image="python:3.12"))
    assert (first.version, second.version) == ("1", "2")
    assert environments.get("latest-e", label="latest").image == "python:3.12"
    environments.archive("latest-e", "2")
    assert environments.get("latest-e", label="latest").version == "1"
    environments.archive("latest-e", label="latest")  # version 1 (its round trip is no change)
    with pytest.raises(MlException, match="Asset latest-e does not exist in workspace ws"):
        environments.get("latest-e", label="latest")
    assert _versions(environments.list("latest-e", list_view_type=ARCHIVED)) == ["2", "1"]
    kept = environments.get("latest-e", "1")
    assert (kept.image, kept.description, kept.conda_file) == (
        "python:3.11",
        "d",
        {"name": "scoring", "dependencies": ["python=3.11"]},
    )
    environments.restore("latest-e", "1")
    assert _versions(environments.list("latest-e")) == ["1"]


def test_archiving_an_environment_name_hides_it_from_the_listing(world: World) -> None:
    environments = world.client.environments
    environments.create_or_update(Environment(name="named-e", image="python:3.11"))
    environments.create_or_update(Environment(name="kept-e", image="python:3.11"))
    environments.archive("named-e")
    active = {e.name: e.latest_version for e in environments.list()}
    assert "named-e" not in active and active["kept-e"] == "1"
    assert "named-e" in {e.name for e in environments.list(list_view_type=ARCHIVED)}
    assert {"named-e", "kept-e"} <= {e.name for e in environments.list(list_view_type=ALL)}
    created = environments.create_or_update(Environment(name="named-e", image="python:3.12"))
    assert created.version == "2"
    assert _versions(environments.list("named-e", list_view_type=ARCHIVED)) == ["2", "1"]
    environments.restore("named-e")
    assert _versions(environments.list("named-e")) == ["2", "1"]
    assert "named-e" in {e.name for e in environments.list()}


def test_archiving_a_data_name_archives_every_version(world: World) -> None:
    data = world.client.data
    for version in ("1", "2"):
        data.create_or_update(
            Data(name="named-d", version=version, type="uri_file", path=f"https://h.test/{version}")
        )
    data.archive("named-d")
    assert "named-d" not in {d.name for d in data.list()}
    assert "named-d" in {d.name for d in data.list(list_view_type=ARCHIVED)}
    assert _versions(data.list("named-d", list_view_type=ARCHIVED)) == ["2", "1"]
    data.restore("named-d")
    assert _versions(data.list("named-d")) == ["2", "1"]
    assert "named-d" in {d.name for d in data.list()}


def test_unknown_names_and_views_are_refused_with_the_fix(world: World) -> None:
    with pytest.raises(MlException, match="Asset nope does not exist in workspace ws"):
        world.client.models.get("nope", label="latest")
    with pytest.raises(MlException, match="Asset nope does not exist in workspace ws"):
        world.client.environments.get("nope", label="latest")
    with pytest.raises(HttpResponseError, match="nope' under resource group 'rg' was not found"):
        world.client.models.archive("nope")
    with pytest.raises(HttpResponseError, match="use ActiveOnly, ArchivedOnly or All") as bad:
        list(world.client.environments.list(list_view_type="Hidden"))  # type: ignore[arg-type]
    assert bad.value.status_code == 400


def test_a_container_put_without_an_archived_flag_names_the_fix(world: World) -> None:
    _model(world, "raw-m", "a")
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default").token
    workspace = (
        f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws"
    )
    response = requests.put(
        f"{world.server.base_url}{workspace}/models/raw-m?api-version=2023-08-01-preview",
        json={"properties": {"description": "x"}},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(world.server.ca.ca_cert),
        timeout=30,
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "boolean 'isArchived'" in message and "ml_client.models.archive(name)" in message

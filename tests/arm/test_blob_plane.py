"""The default datastore's blob plane through the real ``azure-storage-blob`` client (the one
``azure-ai-ml`` uploads with): whole and block uploads, properties, ranged downloads, listing,
and the guarantee that blocks without a committed block list are never a visible blob."""

from __future__ import annotations

import base64
import logging
import os
import socket
import ssl
import time
from urllib.parse import urlsplit

import pytest
from azure.ai.ml import MLClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobBlock, ContainerClient

from emulator.daemon.server import EmulatorServer

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def container(arm_server: EmulatorServer, v2_env: dict[str, str]) -> ContainerClient:
    """The default datastore's container, reached as azure-ai-ml reaches it: account name and
    key from the datastore, ``https://{account}.blob.{endpoint}``."""
    client = MLClient(DefaultAzureCredential(), SUB, "rg", "ws")
    store = client.datastores.get_default()
    key = client.datastores._list_secrets(store.name)
    return ContainerClient(
        f"https://{store.account_name}.blob.{store.endpoint}",
        store.container_name,
        credential={"account_name": "wsstorage", "account_key": key.key},
        max_single_put_size=4,  # anything larger goes as blocks + a block list
        max_block_size=4,
        max_single_get_size=4,  # downloads use ranges past the first 4 bytes
        max_chunk_get_size=4,
    )


def test_block_upload_metadata_properties_download_and_listing(
    container: ContainerClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emulator.arm")
    container.upload_blob("dir/data.bin", b"0123456789", metadata={"upload_status": "completed"})
    blob = container.get_blob_client("dir/data.bin")
    assert any("comp=blocklist -> 201" in r.getMessage() for r in caplog.records)
    props = blob.get_blob_properties()
    assert props.size == 10
    assert props.metadata == {"upload_status": "completed"}  # names with '_' survive
    assert blob.download_blob().readall() == b"0123456789"
    assert blob.download_blob(offset=3, length=4).readall() == b"3456"
    blob.set_blob_metadata({"name": "m", "version": "1"})
    assert blob.get_blob_properties().metadata == {"name": "m", "version": "1"}
    container.upload_blob("dir2/x", b"x")
    container.upload_blob("empty", b"")
    assert container.download_blob("empty").readall() == b""
    assert [b.name for b in container.list_blobs(name_starts_with="dir/")] == ["dir/data.bin"]


def test_blocks_without_a_committed_list_are_no_blob(container: ContainerClient) -> None:
    blob = container.get_blob_client("LocalUpload/abc/model.pkl")
    block_id = base64.b64encode(b"block-0").decode()
    blob.stage_block(block_id, b"first half")  # the client dies here, before Put Block List
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()
    assert list(container.list_blobs()) == []
    second = base64.b64encode(b"block-1").decode()
    blob.stage_block(second, b" second half")
    blob.commit_block_list([BlobBlock(block_id), BlobBlock(second)])
    assert blob.download_blob().readall() == b"first half second half"


def test_a_block_list_naming_an_unstaged_block_is_refused(container: ContainerClient) -> None:
    blob = container.get_blob_client("x.bin")
    with pytest.raises(HttpResponseError, match="was never uploaded") as raised:
        blob.commit_block_list([BlobBlock(base64.b64encode(b"missing").decode())])
    assert raised.value.status_code == 400
    assert "ErrorCode:InvalidBlockList" in str(raised.value)  # Storage's code, as in Azure
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()


def test_uploads_survive_the_model_stores_sweep(
    container: ContainerClient, arm_server: EmulatorServer
) -> None:
    """Deleting a model sweeps the root's blob store of content no model references (after an
    hour); uploaded code and inputs are no model, so they must not live there."""
    container.upload_blob("code/score.py", b"def init(): pass")
    long_ago = time.time() - 7200
    for path in arm_server.root.path.rglob("*"):
        if path.is_file():
            os.utime(path, (long_ago, long_ago))
    arm_server.root.blobs.sweep(referenced=set())
    assert container.download_blob("code/score.py").readall() == b"def init(): pass"


def test_a_put_blob_cut_off_midway_leaves_no_blob(
    container: ContainerClient, arm_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A client killed while sending Put Blob: the connection closes before Content-Length bytes
    arrived; nothing of it becomes visible (and an earlier blob of that name stays intact)."""
    caplog.set_level(logging.INFO, logger="emulator.arm")
    container.upload_blob("model.pkl", b"old")
    path = f"{urlsplit(container.url).path}/model.pkl"
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    with (
        socket.create_connection(("127.0.0.1", arm_server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-ms-blob-type: BlockBlob\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + b"new, but only the first part"
        )
    deadline = time.monotonic() + 30
    while not any(r.getMessage().endswith("model.pkl -> 400") for r in caplog.records):
        assert time.monotonic() < deadline, "the server never finished the cut-off request"
        time.sleep(0.05)
    assert container.download_blob("model.pkl").readall() == b"old"
    assert [b.name for b in container.list_blobs()] == ["model.pkl"]


def test_blocks_abandoned_for_a_week_are_discarded(
    container: ContainerClient, arm_server: EmulatorServer
) -> None:
    """Azure drops uncommitted blocks a week after the last Put Block: a dead upload's blocks
    do not stay on disk, and a later commit naming them fails."""
    dead = container.get_blob_client("dead.bin")
    dead.stage_block(base64.b64encode(b"b0").decode(), b"orphan")
    blocks = arm_server.root.path / "blob-containers" / "blocks"
    [staging] = list(blocks.iterdir())
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(staging, (eight_days_ago, eight_days_ago))
    container.get_blob_client("live.bin").stage_block(base64.b64encode(b"b0").decode(), b"x")
    assert not staging.exists()
    with pytest.raises(HttpResponseError, match="was never uploaded"):
        dead.commit_block_list([BlobBlock(base64.b64encode(b"b0").decode())])

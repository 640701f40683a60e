"""Deployed services listen on loopback only; keys and tokens are compared in constant time and
never written to any log."""

from __future__ import annotations

import ast
import hmac
import inspect
import logging
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    ComputeTarget,
    ContainerImage,
    Image,
    Webservice,
    Workspace,
)
from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SERVICE, SESSION, env_name, session_id
from emulator.services import auth as auth_module
from emulator.services.auth import ServiceAuth

ASSETS = Path(__file__).resolve().parents[2] / "fixtures"


def _post(url: str, credential: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by ``pids`` (Linux /proc)."""
    inodes: set[str] = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            address, port = fields[1].split(":")
            if width == 8 or address.startswith("0000000000000000FFFF0000"):
                # IPv4, or IPv4-mapped IPv6 (::ffff:a.b.c.d: gRPC servers bind IPv4 so)
                word = address[-8:]
                host = ".".join(str(int(word[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                host = "::" if set(address) == {"0"} else address
            found.append((host, int(port, 16)))
    return found


@pytest.mark.slow
def test_services_bind_loopback_and_never_log_credentials(
    aml_workspace: Workspace,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
    caplog.set_level(logging.DEBUG)
    shutil.copy(ASSETS / "scoring" / "score_timed.py", workdir / "score_timed.py")
    image = Image.create(
        aml_workspace, "timed", [], ContainerImage.image_configuration("score_timed.py", "python")
    )
    image.wait_for_creation()
    cluster = ComputeTarget.create(
        aml_workspace, "aks-sec", AksCompute.provisioning_configuration(cluster_purpose="DevTest")
    )
    cluster.wait_for_completion()
    keyed = Webservice.deploy_from_image(
        aml_workspace, "keyed", image, AksWebservice.deploy_configuration(), cluster
    )
    tokened = Webservice.deploy_from_image(
        aml_workspace,
        "tokened",
        image,
        AksWebservice.deploy_configuration(token_auth_enabled=True),
        cluster,
    )
    aci = Webservice.deploy_from_image(
        aml_workspace, "aci-keyed", image, AciWebservice.deploy_configuration(auth_enabled=True)
    )
    for service in (keyed, tokened, aci):
        service.wait_for_deployment()

    secrets = [*keyed.get_keys(), *aci.get_keys(), *tokened.get_keys()]
    token, _ = tokened.get_token()
    secrets.append(token)
    assert _post(keyed.scoring_uri, secrets[0]) == 200
    assert _post(keyed.scoring_uri, secrets[0] + "x") == 401  # a near miss
    assert _post(aci.scoring_uri, secrets[3]) == 200
    assert _post(tokened.scoring_uri, token) == 200
    assert _post(tokened.scoring_uri, token[:-2]) == 401
    for service in (keyed, tokened, aci):
        assert service.run("{}")["version"] == 1

    # Every socket this process (gateways) and the replicas listen on is a loopback one.
    mine = set(processes_with_env(env_name(SESSION), session_id()))
    replicas = {
        pid
        for name in ("keyed", "tokened", "aci-keyed")
        for pid in mine & set(processes_with_env(env_name(SERVICE), name))
    }
    sockets = _listening({*replicas, os.getpid()})
    ports = {int(s.scoring_uri.split(":")[2].split("/")[0]) for s in (keyed, aci)}
    assert ports <= {port for _, port in sockets}  # the gateways are among them
    assert len(replicas) >= 3 and sockets
    assert all(host == "127.0.0.1" for host, _ in sockets), sockets

    # No log anywhere (replica logs, build logs, fault logs, this process's loggers) has them.
    root = Path(aml_workspace.emulator_state.root.path)
    texts = [keyed.get_logs(), tokened.get_logs(), aci.get_logs(), caplog.text]
    texts += [p.read_text(errors="replace") for p in root.rglob("*.log")]
    assert len(texts) > 4
    for secret in secrets:
        assert all(secret not in text for text in texts)
    for service in (keyed, tokened, aci):
        service.delete()


def test_credentials_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes | str, bytes | str]] = []
    real = hmac.compare_digest

    def spy(a: bytes | str, b: bytes | str) -> bool:
        compared.append((a, b))
        return real(a, b)  # type: ignore[type-var]

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    keys = ServiceAuth("key", "primary-key-value", "secondary-key-value")
    assert keys.check("Bearer secondary-key-value") is None
    assert keys.check("Bearer wrong")[0] == 401  # type: ignore[index]
    assert (b"secondary-key-value", b"secondary-key-value") in compared
    assert (b"wrong", b"primary-key-value") in compared
    tokens = ServiceAuth("token")
    token = tokens.issue_access_token().access_token
    compared.clear()
    assert tokens.check(f"Bearer {token}") is None
    assert compared and compared[0][1] == token.split(".")[2]  # the signature

    # And no ==/!= on anything secret in the module.
    tree = ast.parse(inspect.getsource(auth_module))
    secret_words = ("key", "token", "secret", "signature", "credential", "expected")
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops
        ):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            assert not any(word in name.lower() for name in names for word in secret_words), (
                ast.unparse(node)
            )

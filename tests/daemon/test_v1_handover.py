"""SDK v1 services deployed by ``amlemu run`` while ``amlemu up`` runs belong to the daemon: they
outlive the script, keep their scoring URI, show in ``amlemu status``, stop with ``amlemu down``
and come back with the next ``amlemu up``; without a daemon they die with the script as before.

The scripts are users' own: ``azureml.core`` through the shim, nothing of the emulator imported.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from daemon_harness import DaemonRoot

from emulator.daemon.ca import LocalCA
from emulator.daemon.handover import PATH, DaemonReceiver
from emulator.daemon.lifecycle import process_gone
from emulator.daemon.server import EmulatorServer
from emulator.daemon.v1_services import V1Services
from emulator.exceptions import BadArgument, NotFound, OperationFailed
from emulator.sdk.webservice.handover import DAEMON_SETTING
from emulator.services.records import ServiceState
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot

DEPLOY = """\
import json
from azureml.core import Environment, Workspace
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice

ws = Workspace.create(name="ws", subscription_id="sub", resource_group="rg", exist_ok=True)
with open("score.py", "w") as script:
    script.write("def init():\\n    pass\\n\\n\\ndef run(raw):\\n    return raw\\n")
with open("model.txt", "w") as weights:
    weights.write("weights")
model = Model.register(ws, "model.txt", "m")
config = AciWebservice.deploy_configuration(auth_enabled=True, tags={"team": "a"})
inference = InferenceConfig(entry_script="score.py", environment=Environment("e"))
service = Model.deploy(ws, "svc-aci", [model], inference, config)
service.wait_for_deployment()
print(json.dumps({"uri": service.scoring_uri, "key": service.get_keys()[0]}))
"""

CAPTURE: dict[str, Any] = {"capture_output": True, "text": True, "check": True}
#: What the service answers (run() returns the raw body, which the server JSON-encodes).
ECHOED = (200, json.dumps('{"data": [1, 2]}'))

#: Another process's view of the service (argv: what to do).
INSPECT = """\
import json, sys
from azureml.core import Workspace
from azureml.core.webservice import Webservice

ws = Workspace.get(name="ws", subscription_id="sub", resource_group="rg")
service = Webservice(ws, "svc-aci")
seen = {}
if sys.argv[1] == "delete":
    service.delete()
elif sys.argv[1] == "logs":
    seen["logs"] = service.get_logs()
elif sys.argv[1] == "regen":
    service.regen_key("Primary")
    seen["key"] = service.get_keys()[0]
    seen["answer"] = service.run({"data": [3]})  # with the new key, at once
elif sys.argv[1] == "update":
    service.update(tags={"team": "b"}, auth_enabled=False)
    seen["answer"] = service.run({"data": [4]})
print(json.dumps({"state": service.state, "uri": service.scoring_uri, "error": service.error,
                  "type": type(service).__name__, "tags": service.tags, **seen}))
"""


def run_script(root: DaemonRoot, workdir: Path, source: str, *args: str) -> dict[str, Any]:
    """``amlemu run`` of ``source`` in ``workdir``; its JSON line (asserting it succeeded)."""
    workdir.mkdir(exist_ok=True)
    script = workdir / "script.py"
    script.write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "emulator", "--root", str(root.path), "run", str(script), *args],
        env=root.env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def inspect(root: DaemonRoot, tmp_path: Path, action: str = "show") -> dict[str, Any]:
    return run_script(root, tmp_path / "inspect", INSPECT, action)


def score(uri: str, key: str) -> tuple[int, str]:
    request = urllib.request.Request(
        uri,
        data=b'{"data": [1, 2]}',
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def refused(uri: str) -> bool:
    try:
        urllib.request.urlopen(uri, timeout=5)
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False


def wait_for(check: object, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_v1_service_deployed_under_amlemu_run_belongs_to_the_daemon(
    daemon_root: DaemonRoot, tmp_path: Path
) -> None:
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    daemon = daemon_root.daemon_pid()

    deployed = run_script(daemon_root, tmp_path / "deploy", DEPLOY)
    uri, key = str(deployed["uri"]), str(deployed["key"])

    # the script has exited: the daemon serves the service at the same URI
    assert score(uri, key) == ECHOED
    assert score(uri, "wrong")[0] == 401  # the service's keys, kept by the daemon
    seen = inspect(daemon_root, tmp_path)
    assert seen == {
        "state": "Healthy",
        "uri": uri,
        "error": None,
        "type": "AciWebservice",
        "tags": {"team": "a"},
    }  # from another process
    assert daemon_root.replicas_of(daemon)  # its replica is the daemon's
    status = daemon_root.amlemu("status")
    assert f"ws/svc-aci: Healthy, {uri}" in status.stdout, status.stdout

    # what another script asks of it, the daemon does: logs, a new key, an update
    assert "Azure ML Inferencing HTTP server" in str(inspect(daemon_root, tmp_path, "logs")["logs"])
    regenerated = inspect(daemon_root, tmp_path, "regen")
    assert regenerated["answer"] == '{"data": [3]}'
    assert score(uri, key)[0] == 401  # the old key no longer opens it
    key = str(regenerated["key"])
    assert score(uri, key) == ECHOED
    updated = inspect(daemon_root, tmp_path, "update")
    assert (updated["state"], updated["tags"], updated["uri"]) == ("Healthy", {"team": "b"}, uri)
    assert updated["answer"] == '{"data": [4]}'
    assert score(uri, "no key needed now") == ECHOED

    # amlemu down stops it: nothing left, and its record says why
    assert daemon_root.amlemu("down").returncode == 0
    assert daemon_root.hosted_by(daemon) == []
    assert refused(uri)
    stopped = inspect(daemon_root, tmp_path)
    assert stopped["state"] == "Failed"
    assert f"the emulator daemon (pid {daemon}) received SIGTERM" in stopped["error"]["message"]
    assert "The next `amlemu up` for this root brings it back" in stopped["error"]["message"]

    # the next daemon brings it back at the same scoring URI, as it was last updated
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    # (polled by scoring it; each look from another process costs a new interpreter)
    wait_for(lambda: not refused(uri) and score(uri, "no key needed") == ECHOED, "the service back")
    back: dict[str, Any] = {}
    wait_for(
        lambda: back.update(inspect(daemon_root, tmp_path)) or back["state"] == "Healthy", "Healthy"
    )
    assert back["uri"] == uri
    restarted = daemon_root.daemon_pid()
    assert daemon_root.replicas_of(restarted)

    # deleted by another process: the daemon stops its replica and frees the port
    assert inspect(daemon_root, tmp_path, "delete")["state"] == "Deleting"
    wait_for(lambda: not daemon_root.replicas_of(restarted) and refused(uri), "the replica gone")


DEPLOY_LOCAL = """\
import json, sys
from azureml.core import Environment, Workspace
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import LocalWebservice

ws = Workspace.create(name="ws", subscription_id="sub", resource_group="rg", exist_ok=True)
with open("score.py", "w") as script:
    script.write("def init():\\n    pass\\n\\n\\ndef run(raw):\\n    return raw\\n")
with open("model.txt", "w") as weights:
    weights.write("weights")
model = Model.register(ws, "model.txt", "m")
config = LocalWebservice.deploy_configuration(port=int(sys.argv[1]))
inference = InferenceConfig(entry_script="score.py", environment=Environment("e"))
service = Model.deploy(ws, "svc-local", [model], inference, config)
service.wait_for_deployment()
print(json.dumps({"uri": service.scoring_uri}))
"""

RELOAD_LOCAL = """\
import json
from azureml.core import Workspace
from azureml.core.webservice import LocalWebservice

ws = Workspace.get("ws", subscription_id="sub", resource_group="rg")
service = LocalWebservice(ws, "svc-local")
service.reload(wait=True)
print(json.dumps({"state": service.state, "port": service.port}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_a_local_service_keeps_its_port_and_reloads_in_the_daemon(
    daemon_root: DaemonRoot, tmp_path: Path
) -> None:
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    port = free_port()
    deployed = run_script(daemon_root, tmp_path / "deploy", DEPLOY_LOCAL, str(port))
    assert deployed["uri"] == f"http://localhost:{port}/score"
    uri = f"http://127.0.0.1:{port}/score"
    assert score(uri, "") == ECHOED  # the script has exited

    reloaded = run_script(daemon_root, tmp_path / "reload", RELOAD_LOCAL)
    assert reloaded == {"state": "running", "port": port}
    assert score(uri, "") == ECHOED

    assert daemon_root.amlemu("down").returncode == 0
    assert refused(uri)
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    wait_for(lambda: not refused(uri) and score(uri, "") == ECHOED, "the service back")

    killed = daemon_root.daemon_pid()  # a daemon that dies without a word: the same
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: process_gone(killed) and refused(uri), "the daemon and its replica gone")
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    wait_for(lambda: not refused(uri) and score(uri, "") == ECHOED, "the service back again")


DEPLOY_AKS = """\
import json
from azureml.core import Environment, Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AksWebservice

ws = Workspace.create(name="ws", subscription_id="sub", resource_group="rg", exist_ok=True)
config = AksCompute.provisioning_configuration(cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST)
cluster = ComputeTarget.create(ws, "aks-dev", config)
cluster.wait_for_completion()
with open("score.py", "w") as script:
    script.write("def init():\\n    pass\\n\\n\\ndef run(raw):\\n    return raw\\n")
with open("model.txt", "w") as weights:
    weights.write("weights")
model = Model.register(ws, "model.txt", "m")
inference = InferenceConfig(entry_script="score.py", environment=Environment("e"))
found = {}
for name in ("svc-one", "svc-two"):
    config = AksWebservice.deploy_configuration(cpu_cores=0.1, memory_gb=0.2)
    service = Model.deploy(ws, name, [model], inference, config, cluster)
    service.wait_for_deployment()
    found[name] = [service.scoring_uri, service.get_keys()[0]]
print(json.dumps(found))
"""


@pytest.mark.slow
def test_aks_services_come_back_behind_their_clusters_router(
    daemon_root: DaemonRoot, tmp_path: Path
) -> None:
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    deployed = run_script(daemon_root, tmp_path / "deploy", DEPLOY_AKS)
    services = {name: (str(uri), str(key)) for name, (uri, key) in deployed.items()}
    assert all(score(uri, key) == ECHOED for uri, key in services.values())

    assert daemon_root.amlemu("down").returncode == 0
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    for uri, key in services.values():  # one router per cluster: the same port for both
        wait_for(lambda: not refused(uri) and score(uri, key) == ECHOED, f"{uri} back")  # noqa: B023


DEPLOY_TLS = """\
import json, ssl, sys, urllib.request
from azureml.core import Environment, Workspace
from azureml.core.model import InferenceConfig, Model
from azureml.core.webservice import AciWebservice

cname, cert, key = sys.argv[1:4]
ws = Workspace.create(name="ws", subscription_id="sub", resource_group="rg", exist_ok=True)
with open("score.py", "w") as script:
    script.write("def init():\\n    pass\\n\\n\\ndef run(raw):\\n    return raw\\n")
with open("model.txt", "w") as weights:
    weights.write("weights")
model = Model.register(ws, "model.txt", "m")
config = AciWebservice.deploy_configuration(
    ssl_enabled=True, ssl_cert_pem_file=cert, ssl_key_pem_file=key, ssl_cname=cname
)
inference = InferenceConfig(entry_script="score.py", environment=Environment("e"))
service = Model.deploy(ws, "svc-tls", [model], inference, config)
service.wait_for_deployment()
request = urllib.request.Request(service.scoring_uri, data=b"{}", method="POST")
with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=cert)) as answer:
    print(json.dumps({"uri": service.scoring_uri, "status": answer.status}))
"""


def self_signed(directory: Path, cname: str) -> tuple[Path, Path]:
    """A certificate for ``cname`` that clients trust by itself (PEM files: cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir()
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory / "cert.pem", directory / "key.pem"


@pytest.mark.slow
def test_the_deploying_script_reaches_an_ssl_service_at_its_cname(
    daemon_root: DaemonRoot, tmp_path: Path
) -> None:
    cname = "scoring-handover.contoso.test"  # no DNS resolves it: only the emulator can
    cert, key = self_signed(tmp_path / "tls", cname)
    assert daemon_root.amlemu("up", "--detach").returncode == 0
    deployed = run_script(daemon_root, tmp_path / "deploy", DEPLOY_TLS, cname, str(cert), str(key))
    assert deployed["status"] == 200
    assert str(deployed["uri"]).startswith(f"https://{cname}:")
    assert daemon_root.replicas_of(daemon_root.daemon_pid())  # served by the daemon


@pytest.mark.slow
def test_without_a_daemon_the_service_dies_with_the_script(
    daemon_root: DaemonRoot, tmp_path: Path
) -> None:
    deployed = run_script(daemon_root, tmp_path / "deploy", DEPLOY)
    assert refused(str(deployed["uri"]))
    seen = inspect(daemon_root, tmp_path)
    assert seen["state"] == "Failed"
    assert "exited, so it stopped the service's replicas" in json.dumps(seen["error"])
    assert daemon_root.amlemu("status").returncode == 3  # no daemon was started for it


def test_the_route_takes_only_tokens_signed_for_it(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    with EmulatorServer(root, 0, False, V1Services(root)) as server:
        request = urllib.request.Request(
            f"{server.base_url}{PATH}",
            data=b"{}",
            method="POST",
            headers={"Authorization": "Bearer any.well.formed"},  # ARM's face would take it
        )
        context = ssl.create_default_context(cafile=str(server.ca.ca_cert))
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=30, context=context)
        assert answer.value.code == 401
        assert "InvalidAuthenticationToken" in answer.value.read().decode()

        receiver = DaemonReceiver(server.base_url, LocalCA.for_root(root.path), os.urandom(8).hex())
        with pytest.raises(OperationFailed, match="takes tokens issued for"):  # another secret
            receiver.request("deploy", {})
        receiver = DaemonReceiver(server.base_url, server.ca, server.identity_secret)
        with pytest.raises(NotFound, match="No workspace with id 42"):
            receiver.request("deploy", {"workspace": 42, "name": "svc", "configuration": {}})
        with pytest.raises(BadArgument, match="names no workspace"):
            receiver.request("deploy", {"name": "svc"})
        with pytest.raises(NotFound, match="No operation 'undeploy'"):
            receiver.request("undeploy", {})


def test_a_service_that_cannot_be_rebuilt_stays_failed_with_the_reason(tmp_path: Path) -> None:
    root = EmulatorRoot(tmp_path / "root")
    state, _ = workspace_states(root).create("sub", "rg", "ws")
    record = state.services.create(
        "svc-gone",
        "ACI",
        image_id="deleted-image:1",
        model_ids=[],
        settings={DAEMON_SETTING: {"configuration": {"cpu_cores": 0.5}}},
    )
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **CAPTURE)
    state.services.update(  # as a daemon that has since ended left it
        record,
        owner_pid=int(ended.stdout),
        state=ServiceState.FAILED,
        error={"code": "ServiceHostStopped", "message": "stopped: received SIGTERM"},
    )
    V1Services(root).restore()
    restored = state.services.get("svc-gone")
    assert restored is not None and restored.state is ServiceState.FAILED
    assert restored.error is not None and restored.error["code"] == "ServiceRestoreFailed"
    assert "Image deleted-image:1 not found in workspace ws" in restored.error["message"]

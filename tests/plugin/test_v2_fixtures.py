"""``aml_ml_client`` and ``aml_v2_env``: the real ``azure-ai-ml`` against an emulator of the
test's own (or, with ``--aml-daemon``, the running daemon), every variable put back afterwards."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.endpoints.registry import OnlineEndpoints
from emulator.services.hosting import HOST
from emulator.settings import ROOT_ENV
from emulator.state import workspace_states
from emulator.store.root import EmulatorRoot

# The inner sessions run in this process (pytester's runpytest), and pytester removes the modules
# a session imported when it ends: azure-ai-ml and requests imported there first would be imported
# again by the next session while objects of the first import live on (requests then refuses its
# own CookieJar). Imported here, they stay.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import azure.ai.ml
    import azure.identity  # noqa: F401

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
_RUNS = itertools.count()


def _inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner session in this process with a basetemp of its own: pytester's default (beside
    the test's directory) is shared by every in-process session of this xdist worker, and an
    emulator root path used again in one process confuses the runtime's per-process records."""
    basetemp = pytester.path / f"basetemp-{next(_RUNS)}"
    return pytester.runpytest(*QUIET, "-W", "ignore", f"--basetemp={basetemp}", *args)


#: An inner test module: creates an endpoint and writes what it saw to ``seen-<test>.json``.
INNER = """
import json, os
from azure.ai.ml.entities import ManagedOnlineEndpoint

def _record(name, ml_client):
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    seen = {
        "metadata": os.environ["ARM_CLOUD_METADATA_URL"],
        "root": os.environ["AZUREML_EMULATOR_ROOT"],
        "cloud": os.environ.get("AZUREML_CURRENT_CLOUD"),
        "client_id": os.environ.get("AZURE_CLIENT_ID"),
        "endpoints": [e.name for e in ml_client.online_endpoints.list()],
    }
    with open(f"seen-{name}.json", "w") as f:
        json.dump(seen, f)

def test_one(aml_ml_client):
    _record("first", aml_ml_client)

def test_two(aml_ml_client):
    _record("second", aml_ml_client)
"""


#: An inner test module: the real use, a deployment that answers through the endpoint.
DEPLOYING = '''
import json
from azure.ai.ml.entities import (
    CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model,
)
from emulator.services.hosting import HOST

SCORE = """
import json

def init():
    pass

def run(raw):
    return {"doubled": [2 * x for x in json.loads(raw)["data"]]}
"""

def test_deploy_and_invoke(aml_ml_client, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")  # this interpreter: no installs
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "request.json").write_text(json.dumps({"data": [1, 2]}))
    client = aml_ml_client
    assert client.workspaces.get(client.workspace_name).name == "test-workspace"
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="plug")).result()
    client.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="blue",
            endpoint_name="plug",
            model=Model(path=str(tmp_path / "model.txt")),
            code_configuration=CodeConfiguration(code=str(tmp_path / "src"),
                                                 scoring_script="score.py"),
            environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
            instance_type="Standard_DS3_v2",
            instance_count=1,
        )
    ).result()
    endpoint = client.online_endpoints.get("plug")
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    answer = client.online_endpoints.invoke("plug", request_file=str(tmp_path / "request.json"))
    assert json.loads(answer) == {"doubled": [2, 4]}
    assert [d.name for d in HOST.deployments() if d.name.startswith("v2:plug:")] == ["v2:plug:blue"]
'''


def test_a_test_deploys_and_invokes_and_its_replicas_stop_with_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_deploying=DEPLOYING)
    _inner(pytester).assert_outcomes(passed=1)
    assert not [d.name for d in HOST.deployments() if d.name.startswith("v2:plug:")]


def test_each_test_has_its_own_emulator_and_every_variable_comes_back(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a developer's shell may hold: credentials that would send DefaultAzureCredential to
    # Entra ID, and a cloud chosen before (the SDK would keep using it).
    monkeypatch.setenv("AZURE_CLIENT_ID", "real-app")
    monkeypatch.setenv("AZURE_TENANT_ID", "real-tenant")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "real-secret")
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureUSGovernment")
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)
    before = _environ()
    pytester.makepyfile(test_inner=INNER)
    result = _inner(pytester)
    result.assert_outcomes(passed=2)

    first, second = (
        json.loads((pytester.path / f"seen-{n}.json").read_text()) for n in ("first", "second")
    )
    assert first["metadata"] != second["metadata"]  # a server (port) per test
    assert first["root"] != second["root"]  # a fresh root per test
    assert (first["endpoints"], second["endpoints"]) == (["first"], ["second"])
    assert first["cloud"] == "AzureMLEmulator"  # the SDK chose the emulator's cloud itself
    assert first["client_id"] is None  # hidden from DefaultAzureCredential during the test
    assert _environ() == before


def _environ() -> dict[str, str]:
    """This process's variables, less those pytest itself sets per test."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Path]:
    """A running ``amlemu up`` for a root of its own (stopped afterwards)."""
    root = tmp_path / "daemon-root"
    env = {k: v for k, v in os.environ.items() if k != ROOT_ENV}
    command = [sys.executable, "-m", "emulator", "--root", str(root)]
    started = subprocess.run(
        [*command, "up", "--detach"], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stdout + started.stderr
    yield root
    subprocess.run([*command, "down"], env=env, capture_output=True, timeout=120)


def _endpoints(root: Path) -> list[str]:
    state = workspace_states(EmulatorRoot(root)).get(
        "00000000-0000-0000-0000-000000000000", "test-rg", "test-workspace"
    )
    return (
        []
        if state is None
        else [e.name for e in OnlineEndpoints(EmulatorRoot(root), state.id).list()]
    )


def test_a_running_daemon_is_used_only_when_asked(
    pytester: pytest.Pytester, daemon: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(daemon))
    pytester.makepyfile(test_inner=INNER)
    port = (daemon / "daemon" / "daemon.port").read_text().strip()

    _inner(pytester, "-k", "one").assert_outcomes(passed=1)
    seen = json.loads((pytester.path / "seen-first.json").read_text())
    assert f":{port}/" not in seen["metadata"]
    assert _endpoints(daemon) == []  # the user's daemon was left alone

    attached = _inner(pytester, "-k", "one", "--aml-daemon")
    attached.assert_outcomes(passed=1)
    seen = json.loads((pytester.path / "seen-first.json").read_text())
    assert f"https://127.0.0.1:{port}/" in seen["metadata"]
    assert _endpoints(daemon) == ["first"]  # it stays there, to inspect


def test_aml_daemon_without_a_daemon_fails_saying_how_to_start_one(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "idle-root"))
    pytester.makepyfile(test_inner="def test_env(aml_v2_env):\n    pass\n")
    result = _inner(pytester, "--aml-daemon")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [f"*--aml-daemon: no emulator daemon runs for {tmp_path / 'idle-root'}. Start one with*"]
    )


def test_without_azure_ai_ml_only_the_client_fixture_fails_and_says_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest("import sys\nsys.modules['azure.ai.ml'] = None  # not installed\n")
    pytester.makepyfile(
        test_inner="""
import os

def test_env(aml_v2_env):
    assert os.environ["IDENTITY_ENDPOINT"] == aml_v2_env["IDENTITY_ENDPOINT"]

def test_client(aml_ml_client):
    pass
"""
    )
    result = pytester.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*aml_ml_client needs the azure-ai-ml and azure-identity packages*"
            "pip install azure-ai-ml azure-identity*"
        ]
    )


#: Two tests in one session: the first invokes a named deployment, which azure-ai-ml (1.35)
#: remembers in a class-level header dict; the second must still reach its own deployment.
NAMED_THEN_DEFAULT = """
import json
from azure.ai.ml.entities import (
    CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model,
)

def _deploy(client, tmp_path, name, traffic):
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(
        f"def init():\\n    pass\\n\\ndef run(raw):\\n    return {name!r}\\n"
    )
    (tmp_path / "request.json").write_text("{}")
    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="shared")).result()
    client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name=name, endpoint_name="shared", model=Model(path=str(tmp_path / "model.txt")),
        code_configuration=CodeConfiguration(code=str(tmp_path / "src"), scoring_script="score.py"),
        environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
        instance_type="Standard_DS3_v2", instance_count=1,
    )).result()
    endpoint = client.online_endpoints.get("shared")
    endpoint.traffic = {name: traffic}
    client.online_endpoints.begin_create_or_update(endpoint).result()

def test_named(aml_ml_client, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    _deploy(aml_ml_client, tmp_path, "blue", 0)
    answer = aml_ml_client.online_endpoints.invoke(
        "shared", request_file=str(tmp_path / "request.json"), deployment_name="blue"
    )
    assert json.loads(answer) == "blue"

def test_default(aml_ml_client, tmp_path, monkeypatch):
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    _deploy(aml_ml_client, tmp_path, "green", 100)
    request = str(tmp_path / "request.json")
    answer = aml_ml_client.online_endpoints.invoke("shared", request_file=request)
    assert json.loads(answer) == "green"
"""


def test_a_deployment_named_in_one_test_never_routes_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_named=NAMED_THEN_DEFAULT)
    _inner(pytester).assert_outcomes(passed=2)

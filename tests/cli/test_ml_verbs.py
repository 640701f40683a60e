"""``amlemu ml online-endpoint|online-deployment``: ``az ml``'s verbs on Microsoft-style YAML
(examples/v2/online-endpoint), run by the real ``azure-ai-ml`` in separate processes as a CI
script runs them — against ``amlemu up``, and with no daemon (a server of the command's own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml

from emulator.cli.main import main
from emulator.cli.ml.output import compile_query, render
from emulator.settings import ROOT_ENV

with warnings.catch_warnings():  # azure-ai-ml 1.35 warns about marshmallow 4 while importing
    warnings.simplefilter("ignore")
    from azure.ai.ml import load_online_deployment, load_online_endpoint
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

pytestmark = [
    pytest.mark.slow,
    # azure-ai-ml 1.35's schemas pass marshmallow 4 a deprecated argument: the SDK's noise.
    pytest.mark.filterwarnings("ignore:The `context` parameter is deprecated"),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "v2" / "online-endpoint"
WORKSPACE = ("--subscription", "sub", "-g", "rg", "-w", "ws")
#: What examples/v2/online-endpoint/onlinescoring/score.py answers for sample-request.json.
PREDICTIONS = [11.5, 16.0]
#: Variables that would point the command's SDK elsewhere than the emulator.
FOREIGN = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")


def amlemu(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``amlemu --root ROOT ARGS`` in a new process, as a shell script would run it."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN and not k.startswith("DOCKER_")}
    env["AZUREML_EMULATOR_BUILDER"] = "host"  # replicas on this interpreter: no installs
    env["HOME"] = str(cwd / "home")  # the SDK's local mode keeps its endpoints in ~/.azureml
    return subprocess.run(
        [sys.executable, "-m", "emulator", "--root", str(root), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ml(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return amlemu(root, cwd, "ml", *args)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """A fresh root whose daemon, if the test started one, is stopped afterwards."""
    path = tmp_path / "root"
    yield path
    amlemu(path, tmp_path, "down")


#: ``amlemu --root ROOT ml ARGS`` run in this process, as :func:`ml` runs it in a new one.
Here = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def here(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Here:
    """:func:`ml` in this process, in the environment :func:`amlemu` gives its processes.

    A script's first commands (``up``, the creates that upload, ``env --write-config``) and its
    last run in processes of their own, as CI runs them; the ones between are called here, where
    azure-ai-ml is imported already: a new process imports it again (about 3 CPU-seconds each,
    most of these tests' time on CI's 2 cores). What they print and return is the same."""
    for name in [*FOREIGN, *(name for name in os.environ if name.startswith("DOCKER_"))]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        try:
            code = main(["--root", str(root), "ml", *args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["amlemu", "ml", *args], code, out, err)

    return run


def test_an_az_ml_script_deploys_invokes_and_deletes_against_the_daemon(
    root: Path, tmp_path: Path, here: Here
) -> None:
    assert amlemu(root, tmp_path, "up", "--detach", "--port", "0").returncode == 0
    endpoint_yml, blue_yml = str(EXAMPLE / "endpoint.yml"), str(EXAMPLE / "blue-deployment.yml")
    created = ml(
        root, tmp_path, "online-endpoint", "create", "-n", "ci-ep", "-f", endpoint_yml, *WORKSPACE
    )
    endpoint = json.loads(ok(created))
    assert (endpoint["name"], endpoint["auth_mode"]) == ("ci-ep", "key")
    assert endpoint["provisioning_state"] == "Succeeded"
    assert "no emulator daemon" not in created.stderr
    # Later commands find the workspace in config.json, as MLClient.from_config() would.
    ok(
        amlemu(
            root,
            tmp_path,
            "env",
            "--write-config",
            "--subscription-id",
            "sub",
            "--resource-group",
            "rg",
            "-w",
            "ws",
        )
    )

    deployed = ml(
        root,
        tmp_path,
        "online-deployment",
        "create",
        "-f",
        blue_yml,
        "--endpoint-name",
        "ci-ep",
        "--all-traffic",
        "--query",
        "provisioning_state",
        "-o",
        "tsv",
    )
    assert ok(deployed) == "Succeeded\n"  # the SDK's polling dots and upload bars: on stderr
    assert "Uploading onlinescoring" in deployed.stderr
    shown = json.loads(ok(here("online-endpoint", "show", "-n", "ci-ep")))
    assert shown["traffic"] == {"blue": 100}

    # What CI scripts do: the key from get-credentials, a POST to the scoring URI.
    key = ok(
        here(
            "online-endpoint",
            "get-credentials",
            "-n",
            "ci-ep",
            "-o",
            "tsv",
            "--query",
            "primaryKey",
        )
    )
    request = EXAMPLE / "sample-request.json"
    scored = requests.post(
        shown["scoring_uri"],
        data=request.read_bytes(),
        headers={"Authorization": f"Bearer {key.strip()}", "Content-Type": "application/json"},
        verify=str(root / "daemon" / "tls" / "ca.pem"),
        timeout=60,
    )
    assert scored.status_code == 200 and scored.json() == PREDICTIONS
    answer = ok(
        here(
            "online-endpoint",
            "invoke",
            "-n",
            "ci-ep",
            "--request-file",
            str(request),
            "-d",
            "blue",
        )
    )
    assert json.loads(json.loads(answer)) == PREDICTIONS  # az ml prints the body as a JSON string
    logs = here(
        "online-deployment",
        "get-logs",
        "-n",
        "blue",
        "-e",
        "ci-ep",
        "--lines",
        "200",
        "--container-type",
        "inference-server",
        "-o",
        "tsv",
    )
    assert "Init complete" in ok(logs)

    # update without a file edits what exists (the dump, overridden by --set, loaded again).
    updated = here(
        "online-deployment",
        "update",
        "-n",
        "blue",
        "-e",
        "ci-ep",
        "--set",
        "instance_count=2",
        "--set",
        "environment_variables.MODE=fast",
    )
    assert json.loads(ok(updated))["environment_variables"] == {"MODE": "fast"}
    table = ok(
        here(
            "online-deployment",
            "list",
            "-e",
            "ci-ep",
            "--query",
            "[].{Name:name, Count:instance_count, State:provisioning_state}",
            "-o",
            "table",
        )
    )
    assert table.splitlines() == [
        "Name    Count    State",
        "------  -------  ---------",
        "blue    2        Succeeded",
    ]

    refused = here("online-deployment", "delete", "-n", "blue", "-e", "ci-ep", "--yes")
    assert refused.returncode == 1 and refused.stderr.startswith("ERROR: ")
    assert "receives 100% of endpoint 'ci-ep''s traffic" in refused.stderr
    ok(
        here(
            "online-endpoint",
            "update",
            "-n",
            "ci-ep",
            "--traffic",
            "blue=0",
            "-o",
            "none",
        )
    )
    ok(here("online-deployment", "delete", "-n", "blue", "-e", "ci-ep", "--yes"))
    ok(ml(root, tmp_path, "online-endpoint", "delete", "-n", "ci-ep", "-y", "--no-wait"))
    assert ok(ml(root, tmp_path, "online-endpoint", "list", "--query", "length(@)")) == "0\n"


def test_local_verbs_deploy_the_yaml_in_the_sdks_local_mode_on_the_daemon(
    root: Path, tmp_path: Path, here: Here
) -> None:
    """az ml's --local: the SDK's local=True, on the daemon's Docker API, across commands."""
    assert amlemu(root, tmp_path, "up", "--detach", "--port", "0").returncode == 0
    local = ("--local", *WORKSPACE)
    endpoint_yml, blue_yml = str(EXAMPLE / "endpoint.yml"), str(EXAMPLE / "blue-deployment.yml")
    ok(ml(root, tmp_path, "online-endpoint", "create", "-n", "loc-ep", "-f", endpoint_yml, *local))
    refused = here(
        "online-deployment",
        "create",
        "-f",
        blue_yml,
        "-e",
        "loc-ep",
        "--all-traffic",
        *local,
    )
    assert refused.returncode == 1 and "--all-traffic does not apply to --local" in refused.stderr
    deployed = ml(
        root,
        tmp_path,
        "online-deployment",
        "create",
        "-f",
        blue_yml,
        "-e",
        "loc-ep",
        "--query",
        "provisioning_state",
        "-o",
        "tsv",
        *local,
    )
    assert ok(deployed) == "Succeeded\n"
    request = str(EXAMPLE / "sample-request.json")
    answer = here(
        "online-endpoint",
        "invoke",
        "-n",
        "loc-ep",
        "--request-file",
        request,
        "-o",
        "tsv",
        *local,
    )
    assert json.loads(ok(answer)) == PREDICTIONS
    logs = here(
        "online-deployment",
        "get-logs",
        "-n",
        "blue",
        "-e",
        "loc-ep",
        "-o",
        "tsv",
        *local,
    )
    assert "Init complete" in ok(logs)
    listed = here("online-endpoint", "list", "--query", "[].name", "-o", "tsv", *local)
    assert ok(listed) == "loc-ep\n"
    ok(here("online-endpoint", "delete", "-n", "loc-ep", "--yes", *local))
    assert ok(here("online-endpoint", "list", "--query", "length(@)", *local)) == "0\n"
    # Local endpoints are the SDK's, not the workspace's: none was created there.
    assert (
        ok(ml(root, tmp_path, "online-endpoint", "list", "--query", "length(@)", *WORKSPACE))
        == "0\n"
    )


def test_the_example_yaml_loads_through_the_sdks_own_loaders() -> None:
    endpoint = load_online_endpoint(EXAMPLE / "endpoint.yml")
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert (endpoint.name, endpoint.auth_mode) == ("my-endpoint", "key")
    blue = load_online_deployment(EXAMPLE / "blue-deployment.yml")
    assert isinstance(blue, ManagedOnlineDeployment)
    assert (blue.name, blue.endpoint_name, blue.instance_type) == (
        "blue",
        "my-endpoint",
        "Standard_DS3_v2",
    )
    assert Path(blue.model.path) == EXAMPLE / "model"  # relative to the YAML file
    assert blue.code_configuration.scoring_script == "score.py"
    assert blue.environment.image.startswith("mcr.microsoft.com/azureml/")
    assert blue.environment.conda_file["dependencies"][0] == "python=3.11"


@pytest.fixture
def in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``amlemu ml`` called in this process on a fresh root (no daemon), from ``tmp_path``."""
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    for name in FOREIGN:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_a_daemon_the_command_serves_itself_and_says_so(
    in_process: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_yml = str(EXAMPLE / "endpoint.yml")
    assert (
        main(["ml", "online-endpoint", "create", "-f", endpoint_yml, "-n", "solo", *WORKSPACE]) == 0
    )
    out, err = capsys.readouterr()
    assert json.loads(out)["name"] == "solo"
    assert "no emulator daemon runs" in err and "amlemu up --detach" in err
    # The endpoint is in the root: the next command (another server) finds it, and the
    # root's only workspace is used when no flag or config.json names one.
    assert (
        main(["ml", "online-endpoint", "show", "-n", "solo", "--query", "auth_mode", "-o", "tsv"])
        == 0
    )
    assert capsys.readouterr().out == "key\n"
    nowait = [
        "ml",
        "online-deployment",
        "create",
        "-f",
        str(EXAMPLE / "blue-deployment.yml"),
        "-e",
        "solo",
        "--no-wait",
    ]
    assert main(nowait) == 1
    assert "--no-wait needs a running emulator" in capsys.readouterr().err


BAD_YAML = "name: ep\nauth_mode: [key\n"
BAD_SCHEMA = "name: ep\nauth_mode: keyy\nreplicas: 2\n"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["online-endpoint", "create", "-f", "missing.yml"],
            1,
            "ERROR: --file missing.yml: the file does not exist",
        ),
        (
            ["online-endpoint", "create", "-f", "bad.yml"],
            1,
            "ERROR: Error while parsing yaml file: bad.yml",
        ),
        (["online-endpoint", "create", "-f", "schema.yml"], 1, "Value 'keyy' passed is not in set"),
        (
            ["online-endpoint", "show", "-n", "nope"],
            3,
            "ERROR: (ResourceNotFound) Online endpoint 'nope' does not exist",
        ),
        (
            ["online-endpoint", "delete", "-n", "nope"],
            1,
            "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.",
        ),
        (
            ["online-endpoint", "invoke", "-n", "ep", "--request-file", "bad.yml"],
            1,
            "ERROR: --request-file bad.yml is not valid JSON",
        ),
        (
            ["online-endpoint", "update", "-n", "ep", "--query", "[?"],
            1,
            "ERROR: argument --query: invalid jmespath query",
        ),
    ],
)
def test_bad_input_fails_like_az_ml(
    in_process: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    (in_process / "bad.yml").write_text(BAD_YAML)
    (in_process / "schema.yml").write_text(BAD_SCHEMA)
    assert main(["ml", *argv, *WORKSPACE]) == code
    out, err = capsys.readouterr()
    assert out == "" and message in err
    if "schema" in argv:
        assert "replicas" in err and "Unknown field" in err  # every problem named at once


def test_without_names_or_config_the_workspace_is_asked_for(
    in_process: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ml", "online-endpoint", "list", "-g", "rg"]) == 1
    err = capsys.readouterr().err
    assert (
        "ERROR: Could not tell which workspace to use: pass --subscription, --workspace-name/-w"
        in err
    )
    assert "amlemu env --write-config" in err


def test_a_malformed_set_is_a_usage_error(
    in_process: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["ml", "online-endpoint", "create", "-n", "ep", "--set", "instance_count"])
    assert usage.value.code == 2
    assert "invalid --set 'instance_count': give KEY=VALUE" in capsys.readouterr().err


def test_without_azure_ai_ml_the_command_says_how_to_install_it(
    in_process: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "azure.ai.ml", None)  # `import azure.ai.ml` now fails
    assert main(["ml", "online-endpoint", "list", *WORKSPACE]) == 1
    err = capsys.readouterr().err
    assert "azure-ai-ml is not installed" in err and "pip install azure-ai-ml azure-identity" in err


def test_set_overrides_the_yaml_and_token_endpoints_print_their_token(
    in_process: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ["ml", "online-endpoint", "create", "-f", str(EXAMPLE / "endpoint.yml")]
    overrides = ["--set", "auth_mode=aml_token", "--set", "tags.team=scoring", "-o", "yaml"]
    assert main([*create, *overrides, *WORKSPACE]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert (shown["name"], shown["auth_mode"]) == ("my-endpoint", "aml_token")
    assert shown["tags"] == {"team": "scoring"}
    assert main(["ml", "online-endpoint", "get-credentials", "-n", "my-endpoint"]) == 0
    token = json.loads(capsys.readouterr().out)
    assert set(token) == {"accessToken", "expiryTimeUtc", "refreshAfterTimeUtc", "tokenType"}
    assert token["refreshAfterTimeUtc"] < token["expiryTimeUtc"]


@pytest.mark.parametrize(
    ("result", "query", "output", "expected"),
    [
        ({"b": 1, "a": "x"}, None, "json", '{\n  "a": "x",\n  "b": 1\n}\n'),
        ("text", None, "json", '"text"\n'),  # invoke's and get-logs' answers under -o json
        ({"b": 1, "a": "x", "c": None}, None, "tsv", "x\t1\tNone\n"),
        ({"name": "ep", "auth_mode": "key"}, "{N:name, A:auth_mode}", "tsv", "ep\tkey\n"),
        (False, None, "tsv", "false\n"),
        (
            [{"name": "blue", "count": 2, "tags": {}}],
            None,
            "table",
            "Count    Name\n-------  ------\n2        blue\n",
        ),
        ([], None, "table", "\n"),
        (None, None, "json", ""),
    ],
)
def test_output_is_shaped_as_az_shapes_it(
    result: object, query: str | None, output: str, expected: str
) -> None:
    """Expected values: knack 0.14.0's formatters (az's) on the same results, measured."""
    assert render(compile_query(query)(result), output, queried=query is not None) == expected

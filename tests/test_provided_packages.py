"""What Azure's inference images bring (``emulator/environments/provided.py``), inside images.

Each provided distribution has a scenario: an environment naming it as users write it (pins
included), a scoring script importing what the distribution offers in Azure, and requests whose
answers the real azmlinfsrv 1.5.1 recorded (``tests/golden``) or that the distribution documents.
Every scenario runs in an image of each builder: ``local`` (a virtualenv holding only what the
environment and the emulator install), ``host`` and ``docker``. Before any image: how such lines
resolve and what the build log says of them.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from provided_harness import (
    JSON,
    SAMPLE_PIP,
    SCHEMA_TRANSCRIPTS,
    SCORING,
    Scenario,
    Server,
    World,
    answers_like_azmlinfsrv,
    curl,
    environment,
    make_world,
    serving,
)

from emulator import mock_aml
from emulator._version import SDK_VERSION
from emulator.environments.provided import PROVIDED_BY_EMULATOR
from emulator.environments.requirements import resolve_requirements
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import ImageRequest, check_requirements, write_context
from emulator.server.version import INFSRV_VERSION
from emulator.store.root import EmulatorRoot

# -- scenarios: one per provided distribution --------------------------------------------


def _inference_schema(server: Server) -> None:
    for transcript in ("infsrv-swagger-schema.txt", *SCHEMA_TRANSCRIPTS):
        answers_like_azmlinfsrv(transcript, server.call(*curl(transcript)))
    assert "inference-schema[numpy-support]: installed from PyPI" in server.build_log


def _defaults(server: Server) -> None:
    swagger = json.loads(server.call("GET", "/swagger.json").body)
    service_input = swagger["definitions"]["ServiceInput"]
    assert service_input["example"] == {"data": [[5.1, 3.5, 1.4, 0.2]]}
    assert service_input["properties"]["data"]["type"] == "array"
    reply = server.call("POST", "/score", b'{"data": [[1, 2, 3, 4], [5, 6, 7, 8]]}', JSON)
    assert (reply.status, json.loads(reply.body)) == ("200 OK", {"rows": 2, "model": "model.pkl"})

    assert (
        f"azureml-defaults==1.38.0: provided by the emulator, behaves as {SDK_VERSION} "
        f"(azureml-inference-server-http {INFSRV_VERSION}, azureml-core {SDK_VERSION}); "
        "the pin ==1.38.0 is recorded, not installed" in server.build_log
    )


def _raw_http(distribution: str) -> Callable[[Server], None]:
    def check(server: Server) -> None:
        transcript = "infsrv-rawhttp-post.txt"
        answers_like_azmlinfsrv(transcript, server.call(*curl(transcript)))
        assert f"{distribution}: provided by the emulator, behaves as" in server.build_log

    return check


def _model_path(distribution: str) -> Callable[[Server], None]:
    def check(server: Server) -> None:
        answer = json.loads(server.call("POST", "/score", b'{"model": "sklearn-iris"}', JSON).body)
        assert answer["path"].endswith("azureml-models/sklearn-iris/1/model.pkl")
        assert answer["is_file"] is True and answer["version"] == SDK_VERSION
        assert f"{distribution}: provided by the emulator, behaves as" in server.build_log

    return check


def _monitoring(server: Server) -> None:
    reply = server.call("POST", "/score", b'{"data": [1, 2]}', JSON)
    assert json.loads(reply.body) == {"same_class": True, "collected": None}
    assert "azureml-monitoring: provided by the emulator, behaves as 0.1.0a21" in server.build_log


SCENARIOS: dict[str, Scenario] = {
    "inference-schema": Scenario(
        SAMPLE_PIP, SCORING / "server" / "score_schema.py", _inference_schema
    ),
    "azureml-defaults": Scenario(
        ("azureml-defaults==1.38.0",), SCORING / "provided" / "score_defaults.py", _defaults
    ),
    "azureml-inference-server-http": Scenario(
        ("azureml-inference-server-http==1.4.1",),
        SCORING / "provided" / "score_infsrv_raw.py",
        _raw_http("azureml-inference-server-http==1.4.1"),
    ),
    "azureml-contrib-services": Scenario(
        ("azureml-contrib-services",),
        SCORING / "server" / "score_raw.py",
        _raw_http("azureml-contrib-services"),
    ),
    "azureml-monitoring": Scenario(
        ("azureml-monitoring",), SCORING / "provided" / "score_monitoring.py", _monitoring
    ),
    "azureml-core": Scenario(
        ("azureml-core",),
        SCORING / "provided" / "score_model_path.py",
        _model_path(f"azureml-core~={SDK_VERSION}"),
    ),
    "azureml-sdk": Scenario(
        ("azureml-sdk[automl]",),
        SCORING / "provided" / "score_model_path.py",
        _model_path(f"azureml-sdk[automl]~={SDK_VERSION}"),
    ),
}


def _imported_modules(script: Path) -> set[str]:
    """Every module a script imports, with the packages above each (``a.b.c`` → a, a.b, a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def test_every_provided_distribution_has_a_scenario_that_imports_what_it_offers() -> None:
    assert set(SCENARIOS) == set(PROVIDED_BY_EMULATOR)
    for name, scenario in SCENARIOS.items():
        missing = set(PROVIDED_BY_EMULATOR[name].modules) - _imported_modules(scenario.script)
        assert not missing, f"{scenario.script.name} does not use {name}'s {sorted(missing)}"


# -- requirements and the build log --------------------------------------------------------


def _written_context(tmp_path: Path, pip: list[str]) -> Any:
    script = tmp_path / "score.py"
    tmp_path.mkdir(parents=True, exist_ok=True)
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    request = ImageRequest(entry_script=script, environment=environment(pip))
    return write_context(request, tmp_path / "context", EmulatorRoot(tmp_path / "root").blobs)


def test_inference_schema_is_installed_as_written_and_azure_only_packages_are_provided() -> None:
    resolved = resolve_requirements(
        environment(["inference-schema[numpy-support]", "azureml-defaults==1.38.0", "joblib"])
    )
    assert resolved.pip == ["inference-schema[numpy-support]", "joblib"]
    assert resolved.provided_by_emulator == ["azureml-defaults==1.38.0"]
    assert resolved.unavailable == []


def test_pins_of_provided_packages_are_recorded_in_the_build_log(tmp_path: Path) -> None:
    pins = ["azureml-inference-server-http==1.4.1", "azureml-defaults==1.38.0"]
    context = _written_context(tmp_path, [*pins, "inference-schema==1.7.2"])
    log = BuildLog(tmp_path / "build.log")
    check_requirements(context, log)
    text = log.path.read_text()
    assert (
        "azureml-inference-server-http==1.4.1: provided by the emulator, behaves as 1.5.1; "
        "the pin ==1.4.1 is recorded, not installed" in text
    )
    assert (
        "azureml-defaults==1.38.0: provided by the emulator, behaves as 1.61.0 "
        "(azureml-inference-server-http 1.5.1, azureml-core 1.61.0); the pin ==1.38.0 is "
        "recorded, not installed" in text
    )
    assert "inference-schema==1.7.2: installed as pinned (==1.7.2), the real package" in text


def test_a_users_pin_of_inference_schema_replaces_the_emulators_requirement(
    tmp_path: Path,
) -> None:
    def installs(pip: list[str], name: str) -> tuple[str, str]:
        context = _written_context(tmp_path / name, pip)
        return context.requirements_file.read_text(), context.runtime_requirements_file.read_text()

    user, emulator_own = installs(["azureml-defaults"], "defaults")
    assert user == "" and "inference-schema~=1.8.0\n" in emulator_own
    user, emulator_own = installs(["inference-schema[pandas-support]"], "extras")
    assert user == "inference-schema[pandas-support]\n"
    assert "inference-schema~=1.8.0\n" in emulator_own
    user, emulator_own = installs(["inference-schema[numpy-support]==1.7.2"], "pinned")
    assert user == "inference-schema[numpy-support]==1.7.2\n"
    assert "inference-schema" not in emulator_own and "werkzeug" in emulator_own


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("azureml-accel-models", "the emulator offers azureml.accel on the machine that deploys"),
        ("azureml-model-management-sdk==1.0.1b6", "Machine Learning Server's operationalization"),
        ("azureml-train-automl-runtime", "exists only inside Azure ML and is not emulated"),
    ],
)
def test_azure_packages_images_do_not_carry_are_refused_with_the_reason(
    tmp_path: Path, line: str, reason: str
) -> None:
    context = _written_context(tmp_path, [line])
    with pytest.raises(BuildFailed) as failure:
        check_requirements(context, BuildLog(tmp_path / "build.log"))
    assert f"- {line}" in failure.value.message and reason in failure.value.message


def test_the_inference_servers_import_paths_resolve_to_the_emulator_under_the_shim() -> None:
    with mock_aml():
        from azureml.contrib.services import rawhttp
        from azureml_inference_server_http.api.aml_request import AMLRequest
        from azureml_inference_server_http.api.aml_request import rawhttp as server_rawhttp
        from azureml_inference_server_http.api.aml_response import AMLResponse

        from emulator.server.contrib.aml_request import AMLRequest as EmulatorRequest
        from emulator.server.contrib.aml_response import AMLResponse as EmulatorResponse

        assert rawhttp is server_rawhttp
        assert (AMLRequest, AMLResponse) == (EmulatorRequest, EmulatorResponse)
        with pytest.raises(ModuleNotFoundError, match="does not emulate it"):
            import azureml_inference_server_http.server  # noqa: F401
    assert not [name for name in sys.modules if name.startswith("azureml_inference_server_http")]


# -- inside images of every builder ------------------------------------------------------


BUILDERS = ["host", "local", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, iris_pickle: Path) -> Iterator[World]:
    yield from make_world(tmp_path_factory, iris_pickle)


@pytest.mark.slow
@pytest.mark.parametrize("distribution", sorted(SCENARIOS))
@pytest.mark.parametrize("builder", BUILDERS)
def test_what_a_provided_distribution_offers_in_azure_works_in_an_image(
    builder: str,
    distribution: str,
    world: World,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if builder == "docker":
        request.getfixturevalue("docker_engine")  # skips, or fails under --require-docker
    scenario = SCENARIOS[distribution]
    with serving(builder, scenario, world, tmp_path) as server:
        scenario.check(server)

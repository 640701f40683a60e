"""The Dockerfiles azure-ai-ml writes, read into build plans, and the mounts it asks for, made
host paths: both driven by the SDK's own classes (DockerfileResolver, AzureMlImageContext)."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml._local_endpoints.azureml_image_context import AzureMlImageContext
from azure.ai.ml._local_endpoints.dockerfile_resolver import DockerfileResolver

from emulator.dockerapi.dockerfile import UnsupportedStep, parse_dockerfile
from emulator.dockerapi.mounts import ContainerView, parse_bind
from emulator.exceptions import BadArgument

BASE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"


def _sdk_dockerfile(conda: str | None, debugpy: bool = False, dockerfile: str = "") -> str:
    resolver = DockerfileResolver(
        docker_base_image=BASE if not dockerfile else "",
        dockerfile=dockerfile,
        docker_conda_file_name=conda,
        docker_port="5001",
        docker_azureml_app_path="/var/azureml-app/",
        install_debugpy=debugpy,
    )
    return str(resolver)


def test_the_sdks_conda_dockerfile_becomes_its_environment() -> None:
    plan = parse_dockerfile(_sdk_dockerfile("conda.yml"), {"conda.yml", "Dockerfile"})
    assert plan.base_image == BASE
    assert plan.workdir == "/var/azureml-app"
    assert plan.conda_file == "conda.yml"
    assert plan.copies == {"/var/azureml-app/conda.yml": "conda.yml"}
    assert plan.cmd[-2:] == ["runsvdir", "/var/runit"]


def test_vscode_debugging_adds_debugpy_and_an_image_alone_has_no_conda_file() -> None:
    debug = parse_dockerfile(_sdk_dockerfile("conda.yml", debugpy=True), {"conda.yml"})
    assert debug.pip == ["debugpy"]
    image_only = parse_dockerfile(_sdk_dockerfile(None), set())
    assert image_only.conda_file is None
    assert image_only.cmd == ["runsvdir", "/var/runit"]


def test_a_users_dockerfile_with_pip_lines_and_variables() -> None:
    users = (
        f"FROM {BASE}\n# deps\nRUN pip install --no-cache-dir numpy==1.26.4 \\\n    scipy\n"
        'ENV MODE=fast LABEL_TEXT="a b"\nEXPOSE 8080\n'
    )
    plan = parse_dockerfile(_sdk_dockerfile(None, dockerfile=users), set())
    assert plan.pip == ["numpy==1.26.4", "scipy"]
    assert plan.env == {"MODE": "fast", "LABEL_TEXT": "a b"}
    assert plan.exposed == ["8080/tcp"]
    assert plan.workdir == "/var/azureml-app"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"FROM {BASE}\nRUN apt-get update", "line 2: RUN 'apt-get update' cannot be performed"),
        (f"FROM {BASE}\nFROM python:3.11", "line 2: a second FROM"),
        (f"FROM {BASE}\nHEALTHCHECK CMD true", "line 2: HEALTHCHECK is not supported"),
        (f"FROM {BASE}\nRUN pip install -r req.txt", "pip option '-r' is not supported"),
        (f"FROM {BASE}\nCOPY missing.yml /app/", "file not found in build context"),
        (f"FROM {BASE}\nRUN conda env create -f env.yml", "/env.yml does not exist in the image"),
        ("RUN pip install x", "line 1: no build stage"),
        ("# only a comment\n", "cannot be empty"),
    ],
)
def test_what_cannot_be_built_is_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(BadArgument, match=message) as raised:
        parse_dockerfile(text, {"conda.yml"})
    if isinstance(raised.value, UnsupportedStep):
        assert "conda_file" in raised.value.message  # the fix


def test_the_sdks_mounts_and_variables_point_at_the_host(tmp_path: Path) -> None:
    code, model = tmp_path / "onlinescoring", tmp_path / "model-1" / "model"
    code.mkdir()
    model.mkdir(parents=True)
    context = AzureMlImageContext(
        endpoint_name="ep",
        deployment_name="blue",
        yaml_code_directory_path=str(code),
        yaml_code_scoring_script_file_name="score.py",
        model_directory_path=str(model.parent),
        model_mount_path="/my-model/1",
    )
    binds = [parse_bind(entry) for entry in context.volumes]
    view = ContainerView(binds, "/var/azureml-app/", tmp_path / "image-app")
    env = view.translate({**context.environment, "LANG": "C.UTF-8"})
    assert Path(env["AZUREML_MODEL_DIR"]) == model.parent
    assert Path(env["AML_APP_ROOT"]) == code
    assert env["AZUREML_ENTRY_SCRIPT"] == "score.py"
    assert env["LANG"] == "C.UTF-8"
    # what no mount backs: the image's WORKDIR files, else the path is left as it is
    assert view.host_path("/var/azureml-app/conda.yml") == str(tmp_path / "image-app/conda.yml")
    assert view.host_path("/opt/miniconda/envs/inf-conda-env/bin") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("/no/such/dir:/x", "bind source path does not exist: /no/such/dir"),
        ("models:/x", "Named volumes are not supported"),
        ("{tmp}:relative", "mount path must be absolute"),
        ("{tmp}:/x:bogus", "invalid mode: bogus"),
        ("{tmp}", "invalid volume specification"),
    ],
)
def test_bad_binds_answer_dockers_messages(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(BadArgument, match=message):
        parse_bind(entry.format(tmp=tmp_path))

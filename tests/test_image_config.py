"""ContainerImage.image_configuration and InferenceConfig: the SDK's validation, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import ContainerImage, Environment, InferenceConfig
from emulator.errors import UserErrorException, WebserviceException


@pytest.fixture
def score(workdir: Path) -> Path:
    path = workdir / "score.py"
    path.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    return path


def test_image_configuration_accepts_the_seed_call(score: Path, workdir: Path) -> None:
    (workdir / "env.yml").write_text("name: x\ndependencies:\n- python=3.11\n")
    config = ContainerImage.image_configuration(
        execution_script="score.py", runtime="python", conda_file="env.yml"
    )
    assert (config.execution_script, config.runtime, config.conda_file) == (
        "score.py",
        "python",
        "env.yml",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"execution_script": "/abs/score.py"}, "Unable to use absolute path"),
        ({"execution_script": "sub/score.py"}, "not in current directory"),
        ({"execution_script": "missing.py"}, "Execution script missing.py doesn't exist"),
        ({"conda_file": "nope.yml"}, "Conda file nope.yml doesn't exist"),
        ({"docker_file": "Dockerfile.nope"}, "Docker file Dockerfile.nope doesn't exist"),
        ({"dependencies": ["helper.py"]}, "Dependency helper.py doesn't exist"),
        ({"runtime": "java"}, "Provided runtime not supported"),
        ({"runtime": None}, "Provided runtime not supported"),
        ({"cuda_version": "11.0"}, "Provided cuda_version not supported"),
        ({"runtime": "spark-py", "base_image": "x"}, "Custom base image is not supported"),
    ],
)
def test_image_configuration_rejects(score: Path, workdir: Path, kwargs, message: str) -> None:
    (workdir / "sub").mkdir()
    (workdir / "sub" / "score.py").write_text("")
    arguments = {"execution_script": "score.py", "runtime": "python", **kwargs}
    with pytest.raises(WebserviceException, match=message):
        ContainerImage.image_configuration(**arguments)


def test_entry_script_must_be_an_importable_python_file(workdir: Path) -> None:
    (workdir / "score.txt").write_text("")
    (workdir / "my-score.py").write_text("")
    with pytest.raises(WebserviceException, match="only Python drivers"):
        ContainerImage.image_configuration("score.txt", "python")
    with pytest.raises(WebserviceException, match='invalid name "my-score"'):
        InferenceConfig(entry_script="my-score.py")


def test_inference_config_checks(score: Path, workdir: Path) -> None:
    with pytest.raises(WebserviceException, match="need to specify entry_script"):
        InferenceConfig(entry_script="")
    with pytest.raises(WebserviceException, match="source directory nope doesn't exist"):
        InferenceConfig(entry_script="score.py", source_directory="nope")
    with pytest.raises(WebserviceException, match="should be path relative to current working"):
        InferenceConfig(entry_script="other.py")
    with pytest.raises(WebserviceException, match="along with an environment object"):
        InferenceConfig(entry_script="score.py", runtime="python", environment=Environment("e"))
    with pytest.raises(WebserviceException, match="Provided runtime not supported"):
        InferenceConfig(entry_script="score.py", runtime="R")


def test_inference_config_source_directory_with_nested_entry(workdir: Path) -> None:
    (workdir / "src" / "scoring").mkdir(parents=True)
    (workdir / "src" / "scoring" / "main.py").write_text("def init(): pass\n")
    config = InferenceConfig(entry_script="scoring/main.py", source_directory="src")
    assert config.source_directory == str((workdir / "src").resolve())


def test_inference_config_reports_syntax_errors_up_front(workdir: Path) -> None:
    (workdir / "broken.py").write_text("def run(x)\n    return x\n")
    with pytest.raises(UserErrorException, match="Please check it and try local deployment"):
        InferenceConfig(entry_script="broken.py")

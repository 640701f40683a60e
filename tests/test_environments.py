"""Environments layer: conda specs, Environment defaults/factories/files, and the image hash."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from emulator._version import SDK_VERSION
from emulator.environments import CondaDependencies, Environment, environment_hash
from emulator.errors import UserErrorException

BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"


# -- CondaDependencies -------------------------------------------------------------------


def test_base_spec_contents() -> None:
    cd = CondaDependencies()
    assert cd.as_dict() == {
        "name": "project_environment",
        "dependencies": ["python=3.8.13", {"pip": ["azureml-defaults"]}],
        "channels": ["anaconda", "conda-forge"],
    }
    assert cd.get_python_version() == "3.8.13"
    assert list(cd.conda_packages) == ["python=3.8.13"]
    assert list(cd.pip_packages) == ["azureml-defaults"]
    assert list(cd.conda_channels) == ["anaconda", "conda-forge"]
    assert list(cd.pip_options) == []


def test_base_specs_are_independent() -> None:
    first = CondaDependencies()
    first.add_pip_package("joblib")
    assert list(CondaDependencies().pip_packages) == ["azureml-defaults"]


def test_serialized_yaml_layout() -> None:
    cd = CondaDependencies()
    cd.add_pip_package("joblib")
    text = cd.serialize_to_string()
    assert text.startswith("# Conda environment specification.")
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body == [
        "name: project_environment",
        "dependencies:",
        "- python=3.8.13",
        "- pip:",
        "  - azureml-defaults",
        "  - joblib",
        "channels:",
        "- anaconda",
        "- conda-forge",
    ]
    assert yaml.safe_load(text) == cd.as_dict()


def test_yaml_round_trip_through_file(tmp_path: Path) -> None:
    cd = CondaDependencies.create(
        pip_packages=["scikit-learn==1.0", "requests"], conda_packages=["numpy>=1.24"]
    )
    cd.set_pip_option("--extra-index-url https://example.invalid/simple")
    cd.add_channel("defaults")
    path = tmp_path / "env.yml"
    cd.save(path)
    loaded = CondaDependencies(str(path))
    assert loaded.as_dict() == cd.as_dict()
    assert loaded.serialize_to_string() == cd.serialize_to_string()


def test_reads_user_file_in_any_key_order(tmp_path: Path) -> None:
    path = tmp_path / "conda.yaml"
    path.write_text(
        "channels: [conda-forge]\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  - numpy\n"
        "  - pip:\n"
        "      - --index-url https://mirror.invalid/simple\n"
        "      - pandas==2.0\n"
        "name: custom\n"
    )
    cd = CondaDependencies(path)
    assert cd.get_python_version() == "3.11"
    assert list(cd.conda_packages) == ["python=3.11", "numpy"]
    assert list(cd.pip_packages) == ["pandas==2.0"]
    assert list(cd.pip_options) == ["--index-url https://mirror.invalid/simple"]
    assert cd.serialize_to_string().split("\n\n")[-1].startswith("name: custom\ndependencies:")


def test_missing_file_error_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(UserErrorException, match=re.escape(f"{missing} doesn't exist")):
        CondaDependencies(missing)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("dependencies: [python=3.8\n", "not valid YAML"),
        ("- numpy\n- pandas\n", "must be a YAML mapping"),
        ("", "must be a YAML mapping"),
        ("dependencies: numpy\n", "'dependencies' must be a list"),
    ],
)
def test_malformed_file_error_names_path(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(UserErrorException) as excinfo:
        CondaDependencies(path)
    assert str(path) in str(excinfo.value)
    assert problem in str(excinfo.value)


def test_create_defaults_pin_the_sdk() -> None:
    cd = CondaDependencies.create()
    assert cd.get_python_version() == "3.10.18"
    assert list(cd.pip_packages) == [f"azureml-defaults~={SDK_VERSION}"]
    assert list(cd.conda_channels) == ["anaconda", "conda-forge"]


def test_create_with_packages_replaces_defaults() -> None:
    cd = CondaDependencies.create(pip_packages=["scikit-learn==1.0"], conda_packages=["numpy"])
    assert list(cd.pip_packages) == ["scikit-learn==1.0"]
    assert cd.as_dict()["dependencies"] == [
        "python=3.10.18",
        {"pip": ["scikit-learn==1.0"]},
        "numpy",
    ]
    assert "--extra-index-url" not in cd.serialize_to_string()


def test_create_pinning_rules() -> None:
    cd = CondaDependencies.create(
        pip_packages=["azureml-core", "azureml-defaults==1.50.0", "azureml-inference-server-http"]
    )
    assert list(cd.pip_packages) == [
        f"azureml-core~={SDK_VERSION}",
        "azureml-defaults==1.50.0",
        "azureml-inference-server-http",
    ]
    unpinned = CondaDependencies.create(pip_packages=["azureml-defaults"], pin_sdk_version=False)
    assert list(unpinned.pip_packages) == ["azureml-defaults"]


def test_create_python_version_and_index_url() -> None:
    cd = CondaDependencies.create(python_version="3.9", pip_indexurl="https://m.invalid/simple")
    assert cd.get_python_version() == "3.9"
    assert list(cd.pip_options) == ["--index-url https://m.invalid/simple"]


def test_add_pip_package_replaces_same_project() -> None:
    cd = CondaDependencies()
    cd.add_pip_package("scikit-learn==1.0")
    cd.add_pip_package("Scikit_Learn>=1.3")
    assert list(cd.pip_packages) == ["azureml-defaults", "Scikit_Learn>=1.3"]
    cd.remove_pip_package("scikit-learn")
    assert list(cd.pip_packages) == ["azureml-defaults"]


def test_add_pip_package_creates_pip_section() -> None:
    cd = CondaDependencies(_underlying_structure={"name": "x", "dependencies": ["python=3.10"]})
    cd.add_pip_package("requests")
    assert cd.as_dict()["dependencies"] == ["python=3.10", {"pip": ["requests"]}]


def test_pip_option_as_package_is_rejected() -> None:
    with pytest.raises(UserErrorException, match=r"Invalid package name.*set_pip_option"):
        CondaDependencies().add_pip_package("--extra-index-url https://x.invalid")


def test_pip_options_set_and_remove() -> None:
    cd = CondaDependencies()
    cd.set_pip_option("--index-url https://a.invalid/simple")
    cd.set_pip_option("--index-url https://a.invalid/simple")
    cd.set_pip_option("--extra-index-url https://b.invalid/simple")
    assert cd.as_dict()["dependencies"][1]["pip"] == [
        "--index-url https://a.invalid/simple",
        "--extra-index-url https://b.invalid/simple",
        "azureml-defaults",
    ]
    cd.remove_pip_option("--extra-index-url")
    cd.remove_pip_option("--index-url https://a.invalid/simple")
    assert list(cd.pip_options) == []
    with pytest.raises(UserErrorException, match="add_pip_package"):
        cd.set_pip_option("numpy")


def test_set_pip_requirements_replaces_section() -> None:
    cd = CondaDependencies()
    cd.set_pip_requirements(["numpy==1.26", "--no-binary :all:"])
    assert list(cd.pip_packages) == ["numpy==1.26"]
    assert list(cd.pip_options) == ["--no-binary :all:"]


def test_conda_packages_and_python() -> None:
    cd = CondaDependencies()
    cd.add_conda_package("numpy=1.24")
    cd.add_conda_package("numpy=1.26")
    cd.add_conda_package("python=3.11")
    assert list(cd.conda_packages) == ["python=3.11", "numpy=1.26"]
    assert cd.get_python_version() == "3.11"
    cd.set_python_version("3.9.18")
    assert cd.as_dict()["dependencies"][0] == "python=3.9.18"
    cd.remove_conda_package("numpy")
    assert list(cd.conda_packages) == ["python=3.9.18"]
    with pytest.raises(UserErrorException, match="python must not be removed"):
        cd.remove_conda_package("python")


def test_python_version_is_none_without_a_pin() -> None:
    cd = CondaDependencies(_underlying_structure={"dependencies": ["numpy"]})
    assert cd.get_python_version() is None
    cd.set_python_version("3.10")
    assert list(cd.conda_packages) == ["python=3.10", "numpy"]


def test_channels() -> None:
    cd = CondaDependencies()
    cd.add_channel("pytorch")
    cd.add_channel("pytorch")
    cd.remove_channel("anaconda")
    assert list(cd.conda_channels) == ["conda-forge", "pytorch"]


def test_merge_requirements() -> None:
    merged = CondaDependencies.merge_requirements(["numpy>=1.20", "pandas", "numpy<2", "numpy"])
    assert merged == ["numpy>=1.20,<2", "pandas"]


def test_as_dict_is_a_copy() -> None:
    cd = CondaDependencies()
    cd.as_dict()["channels"].append("evil")
    assert list(cd.conda_channels) == ["anaconda", "conda-forge"]


# -- Environment -------------------------------------------------------------------------


def test_environment_defaults() -> None:
    env = Environment("myenv")
    assert env.name == "myenv"
    assert env.version is None
    assert env.python.interpreter_path == "python"
    assert env.python.user_managed_dependencies is False
    assert env.python.conda_dependencies.as_dict() == CondaDependencies().as_dict()
    assert env.docker.base_image == BASE_IMAGE
    assert env.docker.shm_size == "2g"
    assert env.docker.enabled is False
    assert env.docker.base_dockerfile is None
    assert env.environment_variables == {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
    assert env.inferencing_stack_version is None


def test_environment_name_must_be_str() -> None:
    with pytest.raises(TypeError):
        Environment(3)  # type: ignore[arg-type]


def test_conda_dependencies_is_settable() -> None:
    env = Environment("e")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
    assert "numpy" in env.python.conda_dependencies.serialize_to_string()


def test_docker_sources_are_mutually_exclusive(tmp_path: Path) -> None:
    env = Environment("e")
    with pytest.warns(UserWarning, match="base_image"):
        env.docker.base_dockerfile = "FROM ubuntu:22.04\nRUN echo hi\n"
    assert env.docker.base_image is None
    context = tmp_path / "ctx"
    with pytest.warns(UserWarning, match="base_dockerfile"):
        env.docker.build_context = context
    assert env.docker.base_dockerfile is None
    assert env.docker.build_context == str(context)
    with pytest.warns(UserWarning, match="build_context"):
        env.docker.base_image = "python:3.11-slim"
    assert env.docker.build_context is None
    assert env.docker.base_image == "python:3.11-slim"


def test_base_dockerfile_path_is_read_at_set_time(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\n")
    env = Environment("e")
    env.docker.base_image = None
    env.docker.base_dockerfile = str(dockerfile)
    dockerfile.write_text("FROM changed\n")
    assert env.docker.base_dockerfile == "FROM python:3.11-slim\n"


def test_missing_dockerfile_path_is_an_error(tmp_path: Path) -> None:
    env = Environment("e")
    missing = tmp_path / "missing.Dockerfile"
    with pytest.raises(UserErrorException, match=re.escape(str(missing))):
        env.docker.base_dockerfile = str(missing)
    with pytest.raises(UserErrorException, match="doesn't exist"):
        env.docker.base_dockerfile = tmp_path / "missing.Dockerfile"
    assert env.docker.base_image == BASE_IMAGE


def test_from_conda_specification_defaults_python(tmp_path: Path) -> None:
    path = tmp_path / "conda.yml"
    path.write_text("name: x\ndependencies:\n- numpy\n- pip:\n  - pandas\n")
    with pytest.warns(UserWarning, match="3.10.18"):
        env = Environment.from_conda_specification("e", path)
    cd = env.python.conda_dependencies
    assert cd.get_python_version() == "3.10.18"
    assert list(cd.pip_packages) == ["pandas"]
    assert "numpy" in list(cd.conda_packages)


def test_from_conda_specification_keeps_given_python(tmp_path: Path) -> None:
    path = tmp_path / "conda.yml"
    path.write_text("dependencies: [python=3.11.9]\n")
    env = Environment.from_conda_specification("e", path)
    assert env.python.conda_dependencies.get_python_version() == "3.11.9"


def test_from_pip_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("# models\nnumpy==1.26  # pinned\n\nscikit-learn>=1.3\n")
    env = Environment.from_pip_requirements("e", path)
    cd = env.python.conda_dependencies
    assert list(cd.pip_packages) == ["numpy==1.26", "scikit-learn>=1.3"]
    assert "pip" in list(cd.conda_packages)
    versioned = Environment.from_pip_requirements("e", path, pip_version="23.3")
    assert "pip=23.3" in list(versioned.python.conda_dependencies.conda_packages)


def test_from_pip_requirements_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "requirements.txt"
    with pytest.raises(UserErrorException, match=re.escape(f"{missing} doesn't exist")):
        Environment.from_pip_requirements("e", missing)


def test_from_docker_image(tmp_path: Path) -> None:
    env = Environment.from_docker_image("e", "myreg.azurecr.io/base:1")
    assert env.docker.base_image == "myreg.azurecr.io/base:1"
    assert env.python.user_managed_dependencies is True
    path = tmp_path / "requirements.txt"
    path.write_text("numpy\n")
    managed = Environment.from_docker_image("e", "img:1", pip_requirements=path)
    assert managed.python.user_managed_dependencies is False
    assert list(managed.python.conda_dependencies.pip_packages) == ["numpy"]


def test_from_dockerfile(tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("dependencies: [python=3.10, numpy]\n")
    env = Environment.from_dockerfile("e", "FROM ubuntu:22.04\n", conda_specification=conda)
    assert env.docker.base_image is None
    assert env.docker.base_dockerfile == "FROM ubuntu:22.04\n"
    assert env.python.user_managed_dependencies is False
    assert Environment.from_dockerfile("e", "FROM x\n").python.user_managed_dependencies


def test_clone_is_independent() -> None:
    env = Environment("e")
    env.version = "3"
    copy = env.clone("other")
    copy.python.conda_dependencies.add_pip_package("numpy")
    assert (copy.name, copy.version) == ("other", None)
    assert list(env.python.conda_dependencies.pip_packages) == ["azureml-defaults"]


def test_serialized_dict_uses_sdk_keys() -> None:
    data = Environment("e")._serialize_to_dict()
    assert data["name"] == "e"
    assert data["environmentVariables"] == {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
    assert set(data["python"]) == {
        "userManagedDependencies",
        "interpreterPath",
        "condaDependenciesFile",
        "baseCondaEnvironment",
        "condaDependencies",
    }
    assert data["docker"]["baseImage"] == BASE_IMAGE
    assert data["docker"]["platform"] == {"os": "Linux", "architecture": "amd64"}
    assert set(data["docker"]["baseImageRegistry"]) == {
        "address",
        "username",
        "password",
        "registryIdentity",
    }
    assert "inferencingStackVersion" in data
    json.dumps(data)


def test_dict_round_trip() -> None:
    env = Environment.from_docker_image("e", "img:2")
    env.version = "7"
    env.environment_variables = {"A": "1"}
    env.inferencing_stack_version = "latest"
    data = env._serialize_to_dict()
    assert Environment._deserialize_and_add_to_object(data)._serialize_to_dict() == data


def test_save_and_load_directory(tmp_path: Path) -> None:
    env = Environment.from_dockerfile("e", "FROM ubuntu:22.04\nRUN true\n")
    env.python.user_managed_dependencies = False
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"])
    env.environment_variables = {"MODE": "test"}
    target = tmp_path / "saved"
    env.save_to_directory(target)
    assert sorted(p.name for p in target.iterdir()) == [
        "BaseDockerfile",
        "azureml_environment.json",
        "conda_dependencies.yml",
    ]
    loaded = Environment.load_from_directory(target)
    assert loaded._serialize_to_dict() == env._serialize_to_dict()
    assert environment_hash(loaded) == environment_hash(env)


def test_save_to_existing_directory_needs_overwrite(tmp_path: Path) -> None:
    env = Environment.from_dockerfile("e", "FROM ubuntu:22.04\n")
    env.save_to_directory(tmp_path / "d")
    with pytest.raises(UserErrorException, match="overwrite=True"):
        Environment("e").save_to_directory(tmp_path / "d")
    Environment("e").save_to_directory(tmp_path / "d", overwrite=True)
    loaded = Environment.load_from_directory(tmp_path / "d")
    assert loaded.docker.base_dockerfile is None
    assert loaded.docker.base_image == BASE_IMAGE


def test_load_from_directory_edits_and_errors(tmp_path: Path) -> None:
    Environment("e").save_to_directory(tmp_path / "d")
    (tmp_path / "d" / "conda_dependencies.yml").write_text("dependencies: [python=3.12, numpy]\n")
    loaded = Environment.load_from_directory(tmp_path / "d")
    assert list(loaded.python.conda_dependencies.conda_packages) == ["python=3.12", "numpy"]
    with pytest.raises(UserErrorException, match=r"azureml_environment\.json doesn't exist"):
        Environment.load_from_directory(tmp_path / "empty")


# -- environment_hash --------------------------------------------------------------------


def _env_from_yaml(tmp_path: Path, name: str, text: str) -> Environment:
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return Environment.from_conda_specification(name, path)


def test_hash_ignores_name_version_key_order_and_whitespace(tmp_path: Path) -> None:
    first = _env_from_yaml(
        tmp_path,
        "a",
        "name: env\nchannels: [conda-forge]\ndependencies:\n- python=3.10\n- pip: [numpy==1.26]\n",
    )
    second = _env_from_yaml(
        tmp_path,
        "b",
        "dependencies:\n    -   python=3.10\n    -   pip:\n        -   'numpy==1.26 '\n\n"
        "channels:\n  - conda-forge\nname:   env\n",
    )
    second.version = "9"
    first.environment_variables = {"A": "1", "B": "2"}
    second.environment_variables = {"B": "2", "A": "1"}
    digest = environment_hash(first)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert environment_hash(second) == digest
    assert environment_hash(first.clone("c")) == digest


def test_hash_changes_with_what_is_built() -> None:
    env = Environment("e")
    digest = environment_hash(env)
    changes = []
    pinned = env.clone("e")
    pinned.python.conda_dependencies.add_pip_package("numpy==1.26")
    changes.append(pinned)
    python = env.clone("e")
    python.python.conda_dependencies.set_python_version("3.11")
    changes.append(python)
    image = env.clone("e")
    image.docker.base_image = "python:3.11-slim"
    changes.append(image)
    variables = env.clone("e")
    variables.environment_variables["X"] = "1"
    changes.append(variables)
    stack = env.clone("e")
    stack.inferencing_stack_version = "latest"
    changes.append(stack)
    hashes = {environment_hash(changed) for changed in changes}
    assert digest not in hashes
    assert len(hashes) == len(changes)


def test_hash_ignores_dockerfile_line_endings() -> None:
    unix = Environment.from_dockerfile("a", "FROM ubuntu:22.04\nRUN true\n")
    windows = Environment.from_dockerfile("b", "FROM ubuntu:22.04  \r\nRUN true\r\n\r\n")
    assert environment_hash(unix) == environment_hash(windows)
    other = Environment.from_dockerfile("c", "FROM ubuntu:24.04\nRUN true\n")
    assert environment_hash(other) != environment_hash(unix)

"""CondaDependencies and Environment members deployment code calls, through the shim, with the
outputs measured on the real azureml-core 1.61 (scripts/api_diff.py's scratch virtualenv)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator import mock_aml


@pytest.fixture
def cd_class(tmp_path: Path) -> Iterator[Any]:
    with mock_aml(root=tmp_path / "root", strict=False):
        from azureml.core.conda_dependencies import CondaDependencies

        yield CondaDependencies


def test_save_to_file_writes_under_dot_azureml_and_returns_the_relative_path(
    cd_class: Any, tmp_path: Path
) -> None:
    cd = cd_class()
    # azureml-core 1.61: '.azureml/auto_conda_dependencies.yml', and the given name as given
    assert cd.save_to_file(str(tmp_path)) == ".azureml/auto_conda_dependencies.yml"
    written = yaml.safe_load((tmp_path / ".azureml" / "auto_conda_dependencies.yml").read_text())
    assert written == cd.as_dict()
    assert cd.save_to_file(str(tmp_path), conda_file_path="my.yml") == "my.yml"
    assert (tmp_path / "my.yml").is_file()


def test_save_returns_the_path_and_refuses_no_path_folders_and_missing_parents(
    cd_class: Any, tmp_path: Path
) -> None:
    from azureml.exceptions import UserErrorException

    target = tmp_path / "env.yml"
    assert cd_class().save(path=str(target)) == str(target)
    assert yaml.safe_load(target.read_text())["name"] == "project_environment"
    with pytest.raises(UserErrorException, match="to no path"):
        cd_class().save()
    with pytest.raises(UserErrorException, match="to the directory"):
        cd_class().save(str(tmp_path))
    with pytest.raises(UserErrorException, match="doesn't exist"):
        cd_class().save(str(tmp_path / "missing" / "env.yml"))


def test_framework_helpers_pin_as_the_sdk_does(cd_class: Any) -> None:
    from azureml.exceptions import UserErrorException

    cd = cd_class()
    cd.add_tensorflow_pip_package()
    assert list(cd.pip_packages) == ["azureml-defaults", "tensorflow==2.2.0"]
    cd.add_tensorflow_pip_package("gpu", "2.10.0")
    assert list(cd.pip_packages) == ["azureml-defaults", "tensorflow-gpu==2.10.0"]
    cd.add_tensorflow_conda_package()
    assert list(cd.conda_packages) == ["python=3.8.13", "tensorflow=2.2.0"]
    cd.add_tensorflow_conda_package(core_type="gpu", version="2.4.1")
    assert list(cd.conda_packages) == ["python=3.8.13", "tensorflow-gpu=2.4.1"]
    cd.add_cntk_package()
    assert list(cd.pip_packages)[-1] == "cntk==2.7"
    with pytest.raises(UserErrorException, match=r"Invalid core type tpu. Only accept 'cpu' or"):
        cd.add_cntk_package("tpu")


def test_index_url_channels_and_package_counts(cd_class: Any) -> None:
    cd = cd_class()
    cd.set_pip_index_url("https://pkgs.example/simple")
    cd.set_pip_index_url("--extra-index-url https://more.example/simple")
    assert list(cd.pip_options) == [
        "--index-url https://pkgs.example/simple",
        "--extra-index-url https://more.example/simple",
    ]
    cd.add_channel("pytorch")
    cd.remove_channel("anaconda")
    assert list(cd.conda_channels) == ["conda-forge", "pytorch"]
    assert cd.get_default_number_of_packages() == (1, 1)  # python + azureml-defaults
    assert (cd_class.DEFAULT_NUMBER_OF_CONDA_PACKAGES, cd_class.DEFAULT_NUMBER_OF_PIP_PACKAGES) == (
        0,
        0,
    )
    assert cd_class.sdk_origin_url() == "https://pypi.python.org/simple/index.html"


def test_default_images_are_exported_where_the_sdk_has_them(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core.environment import DEFAULT_CPU_IMAGE, DEFAULT_GPU_IMAGE, Environment

        # the values of azureml-core 1.61
        assert DEFAULT_CPU_IMAGE == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
        assert DEFAULT_GPU_IMAGE == (
            "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
        )
        assert Environment("e").docker.base_image == DEFAULT_CPU_IMAGE
        assert Environment("e", _skip_defaults=True).environment_variables == {}
        with pytest.raises(TypeError, match="unexpected keyword arguments"):
            Environment("e", colour="blue")


def test_from_pip_requirements_builds_the_sdks_spec(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==1.26.4\n# a comment\n\nscikit-learn>=1.3  # why\n")
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment

        env = Environment.from_pip_requirements("r", str(requirements))
        # azureml-core 1.61 gives the same spec, but keeps comment and blank lines as entries
        assert env.python.conda_dependencies.as_dict() == {
            "name": "project_environment",
            "dependencies": [
                "python=3.8.13",
                {"pip": ["numpy==1.26.4", "scikit-learn>=1.3"]},
                "pip",
            ],
            "channels": ["anaconda", "conda-forge"],
        }
        pinned = Environment.from_pip_requirements("r", str(requirements), pip_version="23.0")
        assert list(pinned.python.conda_dependencies.conda_packages) == [
            "python=3.8.13",
            "pip=23.0",
        ]


def _fake_conda(folder: Path) -> None:
    """A ``conda`` that knows one environment, as ``conda env export`` prints it."""
    script = folder / "conda"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$5" = "analysis" ]; then\n'
        "  printf 'name: analysis\\nchannels:\\n- defaults\\ndependencies:\\n"
        "- python=3.10.4\\n- pip:\\n  - pandas==2.2.2\\n'\n"
        "else\n"
        "  echo 'EnvironmentLocationNotFound: Not a conda environment: nope' >&2; exit 1\n"
        "fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_from_existing_conda_environment_exports_or_says_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin-empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment
        from azureml.exceptions import UserErrorException

        with pytest.raises(UserErrorException, match="conda is not installed here"):
            Environment.from_existing_conda_environment("e", "analysis")
        _fake_conda(empty)
        monkeypatch.setenv("PATH", f"{empty}{os.pathsep}/bin{os.pathsep}/usr/bin")
        env = Environment.from_existing_conda_environment("e", "analysis")
        assert env.python.conda_dependencies.get_python_version() == "3.10.4"
        assert list(env.python.conda_dependencies.pip_packages) == ["pandas==2.2.2"]
        with pytest.raises(UserErrorException, match="Not a conda environment: nope"):
            Environment.from_existing_conda_environment("e", "nope")


def test_runconfig_exports_the_environment_pieces(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment
        from azureml.core.conda_dependencies import CondaDependencies
        from azureml.core.runconfig import DEFAULT_CPU_IMAGE, DockerSection
        from azureml.core.runconfig import CondaDependencies as RunconfigConda

        assert RunconfigConda is CondaDependencies  # one class, as in the SDK
        env = Environment("e")
        assert isinstance(env.docker, DockerSection)
        assert env.docker.base_image == DEFAULT_CPU_IMAGE

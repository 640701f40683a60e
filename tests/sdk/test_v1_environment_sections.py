"""The python and docker sections of an Environment through the shim: the SDK's constructor
option, its deprecated ``gpu_support`` and the image platform, as azureml-core 1.61 has them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from emulator import mock_aml


def test_skip_defaults_leaves_the_base_image_and_variables_out(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment
        from azureml.core.environment import DockerSection

        bare = Environment("bare", _skip_defaults=True)
        assert bare.docker.base_image is None
        assert bare.docker.shm_size is None
        assert bare.environment_variables == {}
        assert DockerSection().shm_size == "2g"  # the SDK's defaults otherwise
        with pytest.raises(TypeError, match="DockerSection"):
            DockerSection(colour="blue")


def test_gpu_support_is_always_on_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment

        env = Environment("gpu")
        with caplog.at_level(logging.WARNING):
            env.docker.gpu_support = False
            assert env.docker.gpu_support is True
        assert "no longer necessary" in caplog.text


def test_the_platform_round_trips_through_save_and_load(tmp_path: Path) -> None:
    with mock_aml(root=tmp_path / "root"):
        from azureml.core import Environment

        env = Environment("arm")
        assert (env.docker.platform.os, env.docker.platform.architecture) == ("Linux", "amd64")
        env.docker.platform.architecture = "arm64"
        env.save_to_directory(str(tmp_path / "saved"))
        loaded = Environment.load_from_directory(str(tmp_path / "saved"))
        assert loaded.docker.platform.architecture == "arm64"

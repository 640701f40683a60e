"""Exact pins with no build for this python: strict failures that name the nearest versions,
and ``AZUREML_EMULATOR_PINS=nearest`` replacing them, against a local index (offline)."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from package_index import NOT_THIS_PYTHON, PYTHON2_TAG, Dist, serve, write_index
from packaging.version import Version

from emulator import CondaDependencies, ContainerImage, Environment, Image, Workspace
from emulator.images.builders.docker import DockerBuilder
from emulator.images.builders.local import LocalBuilder, LocalImage, load_local_image
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import BuildContext, ImageRequest, write_context
from emulator.images.installer import Installer
from emulator.images.pins import BuildProbe, Nearest, exact_pin, replace_pins
from emulator.settings import BUILDER_ENV, PINS_ENV
from emulator.store.root import EmulatorRoot
from emulator.validation.pipeline import validate
from emulator.validation.spec import build_target
from emulator.validation.target import Sample

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
DISTS = [
    Dist("amlemu-alpha", "0.9"),
    Dist("amlemu-alpha", "1.0", requires_python=NOT_THIS_PYTHON),
    Dist("amlemu-alpha", "1.1", tag=PYTHON2_TAG),
    Dist("amlemu-alpha", "1.2"),
    Dist("amlemu-alpha", "2.0", requires_python=NOT_THIS_PYTHON),
    Dist("amlemu-beta", "1.0"),
    Dist("amlemu-beta", "1.5"),
]
TOOLS = ["uv", "pip"]


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("index")
    write_index(root, DISTS)
    with serve(root) as url:
        yield url


def _probe(tool: str, index_url: str, tmp_path: Path, python: str | None = None) -> BuildProbe:
    """A probe with uv or pip asking ``index_url``, about this python or ``python``."""
    uv = shutil.which("uv") if tool == "uv" else None
    if tool == "uv" and uv is None:
        pytest.skip("uv is not installed")
    installer = Installer(Path(sys.executable), BuildLog(tmp_path / "probe.log"), uv)
    return BuildProbe(installer, [f"--index-url {index_url}"], tmp_path / "probe", python)


@pytest.mark.parametrize("tool", TOOLS)
def test_probe_sees_which_versions_have_a_build_for_this_python(
    tool: str, index_url: str, tmp_path: Path
) -> None:
    probe = _probe(tool, index_url, tmp_path)
    alpha = {version: exact_pin(f"amlemu-alpha=={version}") for version in ("1.0", "1.2", "2.0")}
    assert alpha["1.2"] is not None and probe.has_build(alpha["1.2"])
    assert alpha["1.0"] is not None and not probe.has_build(alpha["1.0"])
    # 1.1 has only a python 2 wheel and 2.0 needs a newer python: neither is "nearest".
    assert probe.nearest(alpha["1.0"]) == Nearest(above=Version("1.2"), below=Version("0.9"))
    assert alpha["2.0"] is not None
    assert probe.nearest(alpha["2.0"]) == Nearest(above=None, below=Version("1.2"))


@pytest.mark.parametrize("tool", TOOLS)
def test_replacements_keep_extras_and_markers_and_prefer_the_version_above(
    tool: str, index_url: str, tmp_path: Path
) -> None:
    probe = _probe(tool, index_url, tmp_path)
    lines = [
        "amlemu-alpha[fast]==1.0; python_version >= '3'",
        "amlemu-beta==2.0",
        "amlemu-beta>=1.0",  # not an exact pin: left to the installer
        "amlemu-alpha==1.2",  # has a build: kept
    ]
    replaced, replacements = replace_pins(lines, probe, PYTHON)
    assert replaced == [
        'amlemu-alpha[fast]==1.2; python_version >= "3"',
        "amlemu-beta==1.5",
        "amlemu-beta>=1.0",
        "amlemu-alpha==1.2",
    ]
    assert replacements == [
        f"amlemu-alpha[fast]==1.0; python_version >= '3' has no build for python {PYTHON}; "
        'installing amlemu-alpha[fast]==1.2; python_version >= "3" instead',
        f"amlemu-beta==2.0 has no build for python {PYTHON}; installing amlemu-beta==1.5 instead",
    ]


def _context(tmp_path: Path, root: EmulatorRoot, pip: list[str], index_url: str) -> BuildContext:
    tmp_path.mkdir(exist_ok=True)
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
    env = Environment("pins-test")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_indexurl=index_url, pip_packages=pip, python_version=PYTHON
    )
    return write_context(
        ImageRequest(entry_script=script, environment=env), tmp_path / "ctx", root.blobs
    )


def _build(root: EmulatorRoot, context: BuildContext, image_dir: Path) -> tuple[LocalImage, str]:
    log = BuildLog(image_dir.parent / f"{image_dir.name}.log")
    location = LocalBuilder(root).build(context, log, image_dir, "img:1")
    return load_local_image(location), log.path.read_text()


def test_strict_pins_fail_naming_the_pin_the_python_and_the_nearest_versions(
    tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PINS_ENV, raising=False)
    root = EmulatorRoot(tmp_path / "root")
    context = _context(tmp_path, root, ["amlemu-alpha==1.0", "amlemu-beta==1.0"], index_url)
    log = BuildLog(tmp_path / "build.log")
    with pytest.raises(BuildFailed) as failure:
        LocalBuilder(root).build(context, log, tmp_path / "image", "img:1")
    assert failure.value.step == "Install requirements"
    message = failure.value.message
    assert f"These pins have no build (wheel) for python {PYTHON}" in message
    assert (
        "  - amlemu-alpha==1.0: nearest versions with a build: 1.2 (above), 0.9 (below)" in message
    )
    assert "amlemu-beta" not in message.split("These pins")[1], "a pin with a build was blamed"
    assert f"{PINS_ENV}=nearest (pytest: --aml-pins=nearest)" in message
    assert "amlemu-alpha==1.0: nearest versions with a build: 1.2" in log.path.read_text()


@pytest.mark.slow
def test_nearest_replaces_pins_lists_them_and_keeps_them_in_the_cache(
    tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINS_ENV, "nearest")
    root = EmulatorRoot(tmp_path / "root")
    pins = ["amlemu-alpha==1.0", "amlemu-beta==2.0"]
    image, log = _build(root, _context(tmp_path, root, pins, index_url), tmp_path / "image")
    expected = (
        f"amlemu-alpha==1.0 has no build for python {PYTHON}; installing amlemu-alpha==1.2 instead",
        f"amlemu-beta==2.0 has no build for python {PYTHON}; installing amlemu-beta==1.5 instead",
    )
    assert image.pin_replacements == expected
    for line in expected:
        assert f"Pin replaced: {line}" in log
    versions = subprocess.run(
        [str(image.python), "-c", "import amlemu_alpha, amlemu_beta; "
         "print(amlemu_alpha.__version__, amlemu_beta.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert versions == ["1.2", "1.5"]

    again, cached_log = _build(
        root, _context(tmp_path / "b", root, pins, index_url), tmp_path / "again"
    )
    assert "Using cached environment" in cached_log
    assert f"Pin replaced when the environment was built: {expected[0]}" in cached_log
    assert again.pin_replacements == expected

    monkeypatch.delenv(PINS_ENV)  # strict never reuses the environment built with nearest pins
    with pytest.raises(BuildFailed, match=r"amlemu-alpha==1\.0: nearest versions"):
        _build(root, _context(tmp_path / "c", root, pins, index_url), tmp_path / "strict")


@pytest.mark.slow
def test_an_unreachable_index_is_not_blamed_on_the_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("UV_HTTP_RETRIES", "0")
        monkeypatch.setenv("PIP_RETRIES", "0")
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/simple/"
        root = EmulatorRoot(tmp_path / "root")
        context = _context(tmp_path, root, ["amlemu-alpha==1.0"], url)
        with pytest.raises(BuildFailed) as failure:
            LocalBuilder(root).build(context, BuildLog(tmp_path / "log"), tmp_path / "i", "i:1")
    assert "These pins" not in failure.value.message
    assert f"exists on the package index for python {PYTHON}" in failure.value.message


def test_an_unknown_pin_mode_fails_the_build_with_the_choices(
    tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINS_ENV, "closest")
    root = EmulatorRoot(tmp_path / "root")
    context = _context(tmp_path, root, ["amlemu-alpha==1.0"], index_url)
    with pytest.raises(BuildFailed) as failure:
        LocalBuilder(root).build(context, BuildLog(tmp_path / "log"), tmp_path / "image", "i:1")
    assert failure.value.step == "Resolve requirements"
    assert f"{PINS_ENV}='closest' is not a pin mode" in failure.value.message
    assert "'nearest'" in failure.value.message and "'strict'" in failure.value.message


@pytest.mark.slow
def test_validate_reports_each_replaced_pin_as_a_warning(
    tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINS_ENV, "nearest")
    (tmp_path / "score.py").write_text(
        "import amlemu_alpha\n\ndef init():\n    pass\n\n\ndef run(data):\n"
        "    return amlemu_alpha.__version__\n"
    )
    target = build_target(
        entry_script="score.py",
        base=tmp_path,
        environment=[f"--index-url {index_url}", "amlemu-alpha==1.0"],
        samples=[Sample.from_value({}, "sample", expect="1.2")],
    )
    report = validate(target, root=EmulatorRoot(tmp_path / "root"), budget_s=60)
    pins = [f for f in report.findings if f.check == "AML012"]
    assert [(f.severity.value, f.message) for f in pins] == [
        (
            "warning",
            f"amlemu-alpha==1.0 has no build for python {PYTHON}; "
            "installing amlemu-alpha==1.2 instead",
        )
    ]
    assert "Azure installs the version as pinned" in pins[0].hint
    assert not [f for f in report.findings if f.severity.value == "error"], report.findings


@pytest.mark.slow
def test_an_images_build_log_uri_lists_the_replaced_pins(
    aml_workspace: Workspace, workdir: Path, index_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINS_ENV, "nearest")
    monkeypatch.setenv(BUILDER_ENV, "local")
    (workdir / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(data):\n    return data\n"
    )
    spec = CondaDependencies.create(pip_indexurl=index_url, pip_packages=["amlemu-alpha==1.0"])
    (workdir / "env.yml").write_text(spec.serialize_to_string())
    config = ContainerImage.image_configuration("score.py", "python", conda_file="env.yml")
    image = Image.create(aml_workspace, "nearest-pins", [], config)
    image.wait_for_creation()
    assert image.creation_state == "Succeeded"
    log = Path(urlparse(image.image_build_log_uri).path).read_text()
    assert (
        f"Pin replaced: amlemu-alpha==1.0 has no build for python {PYTHON}; "
        "installing amlemu-alpha==1.2 instead"
    ) in log


@pytest.mark.parametrize("tool", TOOLS)
def test_probe_asks_about_another_python_than_its_own(
    tool: str, index_url: str, tmp_path: Path
) -> None:
    """A Docker image's python need not be this one: 1.0 and 2.0 need the next python."""
    newer = f"{sys.version_info[0]}.{sys.version_info[1] + 1}"
    own, probe = _probe(tool, index_url, tmp_path), _probe(tool, index_url, tmp_path, newer)
    for version in ("1.0", "2.0"):
        pin = exact_pin(f"amlemu-alpha=={version}")
        assert pin is not None and probe.has_build(pin) and not own.has_build(pin)


def _docker_build(tmp_path: Path, pip: list[str], index_url: str, tag: str) -> None:
    root = EmulatorRoot(tmp_path / "root")
    context = _context(tmp_path, root, pip, index_url)
    DockerBuilder().build(context, BuildLog(tmp_path / "build.log"), tmp_path / "image", tag)


@pytest.fixture
def docker_tag(docker_engine: Any) -> Iterator[str]:
    """A unique tag (xdist-safe) for one image, removed at teardown; skips unless the base
    image's python is this one (the index's wheels are made for this python)."""
    from emulator.images.docker_pins import image_python
    from emulator.images.dockerfile import resolve_base_image

    if image_python(docker_engine.api, resolve_base_image(None)) != PYTHON:
        pytest.skip(f"the base image's python is not {PYTHON}, which the test index targets")
    tag = f"amlemu-test-{uuid.uuid4().hex[:10]}:1"
    yield tag
    with contextlib.suppress(Exception):  # never built (a failing test) or already gone
        docker_engine.images.remove(tag, force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_docker_builds_name_pins_without_a_build_for_the_images_python(
    tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch, docker_tag: str
) -> None:
    monkeypatch.delenv(PINS_ENV, raising=False)
    with pytest.raises(BuildFailed) as failure:
        _docker_build(tmp_path, ["amlemu-alpha==1.0", "amlemu-beta==1.0"], index_url, docker_tag)
    message = failure.value.message
    assert failure.value.step == "Docker build" and "Dockerfile step failed" in message
    assert f"These pins have no build (wheel) for python {PYTHON}" in message
    assert (
        "  - amlemu-alpha==1.0: nearest versions with a build: 1.2 (above), 0.9 (below)" in message
    )
    assert "amlemu-beta" not in message.split("These pins")[1], "a pin with a build was blamed"
    log = (tmp_path / "build.log").read_text()
    assert f"The image installs its requirements with python {PYTHON}" in log


@pytest.mark.docker
@pytest.mark.slow
def test_docker_builds_replace_pins_with_the_nearest_build_when_asked(
    tmp_path: Path,
    index_url: str,
    monkeypatch: pytest.MonkeyPatch,
    docker_engine: Any,
    docker_tag: str,
) -> None:
    monkeypatch.setenv(PINS_ENV, "nearest")
    _docker_build(tmp_path, ["amlemu-alpha==1.0", "amlemu-beta==2.0"], index_url, docker_tag)
    expected = [
        f"amlemu-alpha==1.0 has no build for python {PYTHON}; installing amlemu-alpha==1.2 instead",
        f"amlemu-beta==2.0 has no build for python {PYTHON}; installing amlemu-beta==1.5 instead",
    ]
    log = (tmp_path / "build.log").read_text()
    for line in expected:
        assert f"Pin replaced: {line}" in log
    record = json.loads((tmp_path / "image" / "docker.json").read_text())
    assert record["pin_replacements"] == expected
    script = (
        "import amlemu_alpha, amlemu_beta; print(amlemu_alpha.__version__, amlemu_beta.__version__)"
    )
    out = docker_engine.containers.run(
        docker_tag, ["python", "-c", script], network_mode="none", remove=True
    )
    assert out.decode().split() == ["1.2", "1.5"]

"""What Azure's images bring, installed: a user's own inference-schema pin, Microsoft's sample
environment deployed to every target, a fresh ``pip install azureml-emulator``, and
``amlemu validate`` on the inference server's import paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from provided_harness import (
    JSON,
    REPO,
    SAMPLE_PIP,
    SCHEMA_TRANSCRIPTS,
    SCORING,
    Scenario,
    Server,
    World,
    answers_like_azmlinfsrv,
    curl,
    environment,
    in_image,
    make_world,
    recorded,
    serving,
    wait_ready,
)

from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    ComputeTarget,
    CondaDependencies,
    InferenceConfig,
    LocalWebservice,
    Model,
    Workspace,
)
from emulator.runtime.ports import PortReservation


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, iris_pickle: Path) -> Iterator[World]:
    yield from make_world(tmp_path_factory, iris_pickle)


@pytest.mark.slow
@pytest.mark.parametrize("builder", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_users_pin_of_inference_schema_is_installed_as_pinned_with_its_extras(
    builder: str, world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Docker images install the user's requirements, then the emulator's: the second install
    must not replace the pin with the emulator's own ``inference-schema~=1.8.0``."""

    def check(server: Server) -> None:
        swagger = json.loads(server.call("GET", "/swagger.json").body)
        assert swagger["definitions"]["ServiceInput"]["example"] == {"data": [[1.0, 2.0, 3.0, 4.0]]}
        reply = server.call("POST", "/score", b'{"data": [[1, 2, 3, 4], [1, 1, 1, 1]]}', JSON)
        assert (reply.status, json.loads(reply.body)) == ("200 OK", [10.0, 4.0])
        assert "installed as pinned (==1.7.2)" in server.build_log

    pinned = Scenario(
        ("inference-schema[numpy-support]==1.7.2",), SCORING / "score_schema_sums.py", check
    )
    engine = request.getfixturevalue("docker_engine") if builder == "docker" else None
    with serving(builder, pinned, world, tmp_path) as server:
        pinned.check(server)
        probe = "import importlib.metadata as m, numpy; print(m.version('inference-schema'))"
        if engine is None:
            assert in_image(server.location, probe) == "1.7.2"
        else:
            shown = engine.containers.run(
                server.location, ["python", "-c", probe], network_mode="none", remove=True
            )
            assert shown.decode().strip() == "1.7.2"


@pytest.mark.slow
def test_microsofts_sample_environment_deploys_healthy_to_local_aci_and_aks(
    aml_workspace: Workspace,
    workdir: Path,
    iris_pickle: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "local")  # installs what the sample lists
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")
    shutil.copy(iris_pickle, workdir / "model.pkl")
    model = Model.register(aml_workspace, "model.pkl", "sklearn-iris")
    shutil.copy(SCORING / "server" / "score_schema.py", workdir / "score.py")
    config = InferenceConfig(entry_script="score.py", environment=environment(SAMPLE_PIP))
    cluster = ComputeTarget.create(
        aml_workspace, "aks-sample", AksCompute.provisioning_configuration()
    )
    cluster.wait_for_completion()
    reservation = PortReservation()
    port = reservation.port
    reservation.release()
    targets = [
        ("sample-local", LocalWebservice.deploy_configuration(port=port), None, "running"),
        (
            "sample-aci",
            AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1),
            None,
            "Healthy",
        ),
        ("sample-aks", AksWebservice.deploy_configuration(), cluster, "Healthy"),
    ]
    expected = json.loads(recorded("infsrv-schema-good.txt").body)
    rows = (curl("infsrv-schema-good.txt")[2] or b"").decode()
    for name, deployment, target, healthy in targets:
        service = Model.deploy(aml_workspace, name, [model], config, deployment, target)
        service.wait_for_deployment()
        assert service.state == healthy, service.get_logs()
        assert service.run(rows) == expected
        service.delete()


@pytest.mark.slow
def test_a_fresh_install_serves_an_inference_schema_script_as_azmlinfsrv_does(
    tmp_path: Path, iris_pickle: Path
) -> None:
    """``pip install azureml-emulator`` (no extras) and the script's own libraries, then
    ``amlemu serve``: inference-schema comes with the emulator, as with azmlinfsrv."""
    uv = shutil.which("uv")
    assert uv, "uv (a test dependency) is needed to make the fresh virtualenv"
    source = tmp_path / "source"  # a copy: building in the checkout would write into it
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("emulator", "plugins"):
        shutil.copytree(REPO / part, source / part, ignore=ignore)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    libraries = ["joblib", SAMPLE_PIP[2]]  # score_schema.py's imports
    subprocess.run([uv, "pip", "install", "-q", "--python", python, source, *libraries], check=True)
    shown = subprocess.run(
        [uv, "pip", "show", "--python", python, "inference-schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Required-by: azureml-emulator" in shown, shown

    model_dir = tmp_path / "app" / "azureml-models" / "sklearn-iris" / "1"
    model_dir.mkdir(parents=True)
    shutil.copy(iris_pickle, model_dir / "model.pkl")
    shutil.copy(SCORING / "server" / "score_schema.py", tmp_path / "app" / "score.py")
    reservation = PortReservation()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    command = ["serve", "--entry_script", "score.py", "--model_dir", str(model_dir)]
    with (tmp_path / "serve.log").open("wb") as output:
        server = subprocess.Popen(
            [str(venv / "bin" / "amlemu"), *command, "--port", str(reservation.port)],
            cwd=tmp_path / "app",
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(server, reservation.port, tmp_path / "serve.log")
        served = Server(reservation.port)
        for transcript in ("infsrv-swagger-schema.txt", *SCHEMA_TRANSCRIPTS):
            answers_like_azmlinfsrv(transcript, served.call(*curl(transcript)))
    finally:
        server.terminate()
        server.wait(timeout=30)
        reservation.release()


@pytest.mark.slow
def test_validate_accepts_the_inference_servers_import_paths(tmp_path: Path) -> None:
    """``amlemu validate`` (host mode) resolves them as a scoring worker does: the emulator's."""
    shutil.copy(SCORING / "provided" / "score_infsrv_raw.py", tmp_path / "score.py")
    spec = CondaDependencies.create(
        pip_packages=["azureml-inference-server-http==1.4.1"],
        python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
    )
    (tmp_path / "env.yml").write_text(spec.serialize_to_string())
    command = ["validate", "--entry-script", "score.py", "--conda-file", "env.yml"]
    done = subprocess.run(
        [sys.executable, "-m", "emulator", *command, "--builder", "host"],
        cwd=tmp_path,
        env={**os.environ, "AZUREML_EMULATOR_ROOT": str(tmp_path / "root")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and "AML010" not in done.stdout, done.stdout + done.stderr

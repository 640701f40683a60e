"""ACI, AKS and local web services end to end: deploy, score over HTTP, auth, limits, failures.

Images are built with the host builder (no virtualenv) and replicas run on the process
runtime, so each deployment takes about a second.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from emulator import (
    AciWebservice,
    AksCompute,
    AksWebservice,
    ComputeTarget,
    ContainerImage,
    Image,
    InferenceConfig,
    LocalWebservice,
    Model,
    Webservice,
    Workspace,
)
from emulator.errors import UserErrorException, WebserviceException
from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SERVICE, SESSION, env_name, session_id
from emulator.runtime.ports import PortReservation
from emulator.views.resources import service_details

ASSETS = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def fast_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.setenv("AZUREML_EMULATOR_PROVISIONING_SECONDS", "0")


def _image(ws: Workspace, workdir: Path, script: str, name: str = "img") -> Image:
    shutil.copy(ASSETS / "scoring" / script, workdir / script)
    config = ContainerImage.image_configuration(script, "python")
    image = Image.create(ws, name, [], config)
    image.wait_for_creation()
    return image


@pytest.fixture
def timed_image(aml_workspace: Workspace, workdir: Path) -> Image:
    return _image(aml_workspace, workdir, "score_timed.py")


@pytest.fixture
def cluster(aml_workspace: Workspace) -> ComputeTarget:
    config = AksCompute.provisioning_configuration(
        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST
    )
    target = ComputeTarget.create(aml_workspace, "aks-test", config)
    target.wait_for_completion()
    return target


def _post(url: str, body: Any, key: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _service_processes(name: str) -> set[int]:
    """Processes this session started for service ``name`` (found by their label variables)."""
    mine = set(processes_with_env(env_name(SESSION), session_id()))
    return mine & set(processes_with_env(env_name(SERVICE), name))


def _deploy_aks(ws: Workspace, image: Image, cluster: Any, name: str, **config: Any) -> Any:
    service = Webservice.deploy_from_image(
        ws, name, image, AksWebservice.deploy_configuration(**config), cluster
    )
    service.wait_for_deployment()
    return service


def test_aci_deploy_score_logs_and_delete(
    aml_workspace: Workspace, timed_image: Image, capsys: pytest.CaptureFixture[str]
) -> None:
    config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, tags={"k": "v"})
    service = Webservice.deploy_from_image(aml_workspace, "timed-aci", timed_image, config)
    assert isinstance(service, AciWebservice)
    service.wait_for_deployment(show_output=True)
    out = capsys.readouterr().out
    assert (
        "Healthy" in out and 'ACI service creation operation finished, operation "Succeeded"' in out
    )

    assert service.state == "Healthy" and not service.auth_enabled
    assert service.run(json.dumps({})) == {"pid": service.run("{}")["pid"], "version": 1}
    assert _post(service.scoring_uri, {})[0] == 200  # ACI: no key needed
    assert "score_timed: init done" in service.get_logs()
    assert service.swagger_uri.endswith("/swagger.json")

    found = Webservice(aml_workspace, "timed-aci")
    assert isinstance(found, AciWebservice) and found.tags == {"k": "v"}
    assert list(aml_workspace.webservices) == ["timed-aci"]
    assert found.serialize()["computeType"] == "ACI"

    assert _service_processes("timed-aci")  # the server and its worker
    service.delete()
    assert service.state == "Deleting"
    deadline = time.monotonic() + 5
    while _service_processes("timed-aci") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _service_processes("timed-aci")
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        Webservice(aml_workspace, "timed-aci")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(service.scoring_uri, data=b"{}", timeout=5)


def test_service_names_are_validated(aml_workspace: Workspace, timed_image: Image) -> None:
    with pytest.raises(WebserviceException, match="provided service name is invalid"):
        Webservice.deploy_from_image(aml_workspace, "Bad_Name", timed_image)


def test_same_name_needs_overwrite(aml_workspace: Workspace, timed_image: Image) -> None:
    first = Webservice.deploy_from_image(aml_workspace, "twice", timed_image)
    first.wait_for_deployment()
    with pytest.raises(WebserviceException, match="already exists"):
        Webservice.deploy_from_image(aml_workspace, "twice", timed_image)
    second = Webservice.deploy_from_image(aml_workspace, "twice", timed_image, overwrite=True)
    second.wait_for_deployment()
    assert second.run("{}")["version"] == 1
    second.delete()


def test_aci_key_auth_and_key_regeneration(aml_workspace: Workspace, timed_image: Image) -> None:
    config = AciWebservice.deploy_configuration(auth_enabled=True)
    service = Webservice.deploy_from_image(aml_workspace, "keyed", timed_image, config)
    service.wait_for_deployment()
    primary, secondary = service.get_keys()
    assert _post(service.scoring_uri, {})[0] == 401
    assert _post(service.scoring_uri, {}, primary)[0] == 200
    assert _post(service.scoring_uri, {}, secondary)[0] == 200

    service.regen_key("primary")
    new_primary, _ = service.get_keys()
    assert new_primary != primary
    assert _post(service.scoring_uri, {}, primary)[0] == 401
    assert _post(service.scoring_uri, {}, new_primary)[0] == 200
    assert service.run("{}")["version"] == 1  # run() sends the current key
    with pytest.raises(WebserviceException, match="Valid options are: Primary, Secondary"):
        service.regen_key("tertiary")
    with pytest.raises(NotImplementedError, match="do not support Token Authentication"):
        service.get_token()
    service.delete()


def test_crash_loop_fails_the_deployment_with_azures_error(
    aml_workspace: Workspace, workdir: Path
) -> None:
    image = _image(aml_workspace, workdir, "score_init_raises.py", "broken")
    service = Webservice.deploy_from_image(aml_workspace, "broken-svc", image)
    with pytest.raises(WebserviceException) as failed:
        service.wait_for_deployment()
    message = failed.value.message
    assert "current service state: Failed" in message
    assert "AciDeploymentFailed" in message and "CrashLoopBackOff" in message
    assert "Your container application crashed" in message
    assert service.error["details"][0]["code"] == "CrashLoopBackOff"
    logs = service.get_logs()
    assert "FileNotFoundError" in logs and "/nonexistent/model.pkl" in logs
    assert "score_init_raises: loading the model" in logs
    service.delete()


def test_aks_key_auth_by_default_and_two_services_on_one_cluster(
    aml_workspace: Workspace, timed_image: Image, cluster: ComputeTarget
) -> None:
    one = _deploy_aks(aml_workspace, timed_image, cluster, "svc-one", num_replicas=1)
    two = _deploy_aks(aml_workspace, timed_image, cluster, "svc-two", num_replicas=1)
    assert isinstance(one, AksWebservice) and one.auth_enabled
    assert one.scoring_uri.endswith("/api/v1/service/svc-one/score")
    assert one.scoring_uri.split("/api/")[0] == two.scoring_uri.split("/api/")[0]

    status, body = _post(one.scoring_uri, {})
    assert (status, body) == (401, "Unauthorized, no Auth Header")
    assert _post(one.scoring_uri, {}, "wrong-key")[0] == 401
    assert _post(one.scoring_uri, {}, one.get_keys()[0])[0] == 200
    assert _post(two.scoring_uri, {}, two.get_keys()[1])[0] == 200
    assert _post(two.scoring_uri, {}, one.get_keys()[0])[0] == 401  # keys are per service
    assert one.run("{}")["version"] == 1

    one.delete()
    assert _post(two.scoring_uri, {}, two.get_keys()[0])[0] == 200
    assert _post(one.scoring_uri, {}, one.get_keys()[0])[0] == 404
    two.delete()


def test_aks_token_auth_and_expiry(
    aml_workspace: Workspace, timed_image: Image, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_TOKEN_LIFETIME", "1")
    service = _deploy_aks(
        aml_workspace, timed_image, cluster, "tokens", num_replicas=1, token_auth_enabled=True
    )
    assert service.token_auth_enabled and not service.auth_enabled
    token, refresh_after = service.get_token()
    assert refresh_after.timestamp() > time.time()
    assert _post(service.scoring_uri, {}, token)[0] == 200
    assert _post(service.scoring_uri, {}, service.get_keys()[0])[0] == 401
    assert service.run("{}")["version"] == 1
    time.sleep(1.2)
    assert _post(service.scoring_uri, {}, token)[0] == 401  # expired
    assert service.run("{}")["version"] == 1  # run() gets a fresh token
    service.delete()


def test_aks_overload_gives_503_with_one_request_per_replica(
    aml_workspace: Workspace, timed_image: Image, cluster: Any
) -> None:
    service = _deploy_aks(
        aml_workspace, timed_image, cluster, "busy", num_replicas=1, auth_enabled=False,
        max_request_wait_time=200,
    )  # fmt: skip
    results: list[tuple[int, str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(_post(service.scoring_uri, {"sleep": 1.5})))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 503]
    assert (
        "Too many requests for service busy (overloaded)" in dict((s, b) for s, b in results)[503]
    )
    service.delete()


def test_aks_scoring_timeout_gives_504_and_keeps_serving(
    aml_workspace: Workspace, timed_image: Image, cluster: Any
) -> None:
    service = _deploy_aks(
        aml_workspace, timed_image, cluster, "slow", num_replicas=1, auth_enabled=False,
        scoring_timeout_ms=300,
    )  # fmt: skip
    status, _ = _post(service.scoring_uri, {"sleep": 2})
    assert status == 504
    time.sleep(2)  # the replica finishes the abandoned run()
    assert _post(service.scoring_uri, {})[0] == 200
    service.delete()


def test_unschedulable_when_replicas_do_not_fit(
    aml_workspace: Workspace, timed_image: Image, cluster: Any
) -> None:
    config = AksWebservice.deploy_configuration(num_replicas=1, cpu_cores=16)
    service = Webservice.deploy_from_image(aml_workspace, "too-big", timed_image, config, cluster)
    with pytest.raises(WebserviceException, match="current service state: Unschedulable"):
        service.wait_for_deployment()
    assert "Insufficient cpu" in json.dumps(service.error)
    service.delete()


def test_update_without_downtime(
    aml_workspace: Workspace, timed_image: Image, cluster: Any
) -> None:
    service = _deploy_aks(
        aml_workspace, timed_image, cluster, "rolling", num_replicas=1, auth_enabled=False,
        replica_max_concurrent_requests=4,
    )  # fmt: skip
    old_pid = service.run("{}")["pid"]
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            statuses.append(_post(service.scoring_uri, {})[0])

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        service.update(num_replicas=2, description="two replicas now")
    finally:
        time.sleep(0.5)
        stop.set()
        thread.join()
    assert statuses and set(statuses) == {200}
    service.update_deployment_state()
    assert service.num_replicas == 2 and service.description == "two replicas now"
    assert old_pid not in {service.run("{}")["pid"] for _ in range(4)}
    # what describe and the portal list: the new replicas, one generation, and the old one
    # while it drains
    generations = {
        r["replica"]: r["container"].split("-")[1] for r in service_details(service)["replicas"]
    }
    assert generations[2] == generations[3] != generations.get(1, "")
    service.delete()


def test_a_failed_service_lists_every_replica_of_its_last_attempt(
    aml_workspace: Workspace, workdir: Path, cluster: Any
) -> None:
    image = _image(aml_workspace, workdir, "score_init_raises.py", "broken")
    config = AksWebservice.deploy_configuration(num_replicas=2, cpu_cores=0.1, memory_gb=0.2)
    service = Webservice.deploy_from_image(aml_workspace, "broken-two", image, config, cluster)
    with pytest.raises(WebserviceException, match="CrashLoopBackOff"):
        service.wait_for_deployment()
    shown = service_details(service)["replicas"]
    assert [r["replica"] for r in shown] == [1, 2]
    assert all("FileNotFoundError" in Path(r["log"]).read_text() for r in shown)
    service.delete()


def test_autoscale_up_under_load_and_back_down(
    aml_workspace: Workspace, timed_image: Image, cluster: Any
) -> None:
    service = _deploy_aks(
        aml_workspace, timed_image, cluster, "elastic", auth_enabled=False,
        autoscale_enabled=True, autoscale_min_replicas=1, autoscale_max_replicas=3,
        autoscale_refresh_seconds=1, autoscale_target_utilization=50,
        replica_max_concurrent_requests=1, max_request_wait_time=5000,
    )  # fmt: skip
    assert service.num_replicas == 1
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            _post(service.scoring_uri, {"sleep": 0.3})

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            service.update_deployment_state()
            if service.num_replicas >= 2:
                break
            time.sleep(0.2)
        grown = service.num_replicas
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert grown >= 2
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        service.update_deployment_state()
        if service.num_replicas == 1:
            break
        time.sleep(0.2)
    assert service.num_replicas == 1
    reasons = [event.to_replicas for event in service.scale_history]
    assert max(reasons) >= 2 and reasons[-1] == 1
    service.delete()


def test_local_webservice_on_a_chosen_port_and_reload(
    aml_workspace: Workspace, workdir: Path
) -> None:
    shutil.copy(ASSETS / "scoring" / "score_timed.py", workdir / "score.py")
    reservation = PortReservation()
    port = reservation.port
    reservation.release()
    config = LocalWebservice.deploy_configuration(port=port)
    service = Model.deploy(aml_workspace, "local-svc", [], InferenceConfig("score.py"), config)
    assert isinstance(service, LocalWebservice)
    service.wait_for_deployment()
    assert service.state == "running"
    assert service.scoring_uri == f"http://localhost:{port}/score"
    first = service.run("{}")
    assert first["version"] == 1

    (workdir / "score.py").write_text(
        (workdir / "score.py").read_text().replace("VERSION = 1", "VERSION = 2")
    )
    service.update(inference_config=InferenceConfig("score.py"), wait=True)
    assert service.run("{}")["version"] == 2
    service.reload(wait=True)
    assert service.run("{}")["pid"] != first["pid"]
    with pytest.raises(NotImplementedError, match="do not support auth keys"):
        service.get_keys()
    service.delete()
    assert service.state == "deleted"


def test_no_code_deploy_of_a_scikit_learn_model(
    aml_workspace: Workspace, workdir: Path, iris_pickle: Path
) -> None:
    import sklearn

    shutil.copy(iris_pickle, workdir / "model.pkl")
    model = Model.register(
        aml_workspace,
        "model.pkl",
        "iris-nocode",
        model_framework=Model.Framework.SCIKITLEARN,
        model_framework_version=sklearn.__version__,
    )
    service = Model.deploy(aml_workspace, "iris-nocode", [model])
    service.wait_for_deployment()
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    assert service.run(json.dumps({"data": rows})) == [0, 2]
    probabilities = service.run(json.dumps({"data": rows, "method": "predict_proba"}))
    assert len(probabilities) == 2 and abs(sum(probabilities[0]) - 1) < 1e-6
    service.delete()


def test_no_code_deploy_needs_a_known_framework(aml_workspace: Workspace, workdir: Path) -> None:
    (workdir / "weights.bin").write_bytes(b"\0")
    model = Model.register(aml_workspace, "weights.bin", "custom-model")
    with pytest.raises(UserErrorException, match="You must provide an InferenceConfig"):
        Model.deploy(aml_workspace, "custom-svc", [model])


@pytest.mark.slow
@pytest.mark.docker
def test_aks_service_on_the_docker_runtime(
    aml_workspace: Workspace,
    workdir: Path,
    cluster: Any,
    docker_engine: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "docker")
    image = _image(aml_workspace, workdir, "score_timed.py", "timed-docker")
    assert image.image_location == "timed-docker:1"
    try:
        service = _deploy_aks(aml_workspace, image, cluster, "in-docker", num_replicas=1)
        answer = service.run("{}")
        assert answer["version"] == 1
        containers = docker_engine.containers.list(
            filters={"label": "azureml-emulator.service=in-docker"}
        )
        assert len(containers) == 1
        assert containers[0].attrs["HostConfig"]["NetworkMode"] == "host"
        assert "score_timed: init done" in service.get_logs()
        service.delete()
        assert not docker_engine.containers.list(
            all=True, filters={"label": "azureml-emulator.service=in-docker"}
        )
    finally:
        docker_engine.images.remove("timed-docker:1", force=True)

"""SDK v1 members through the shim: an ACI service's TLS material (``ssl_certificate`` /
``ssl_key``, read from the files it serves with) and ``run``'s parameter, ``input`` on the
SDK's abstract ``Webservice`` and ``input_data`` on each service type. One HTTPS ACI service
(host builder) serves every test."""

from __future__ import annotations

import datetime
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator import mock_aml

SCRIPT = "def init():\n    pass\n\n\ndef run(raw_data):\n    return {'echo': raw_data}\n"
CNAME = "last-members.contoso.test"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for CNAME signed by its own key (PEM files): what a client trusts too."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CNAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(CNAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("last-members")
    (base / "app").mkdir()
    (base / "app" / "score.py").write_text(SCRIPT)
    (base / "app" / "helper.py").write_text("GREETING = 'hi'\n")
    cert_file, key_file = _self_signed(base)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZUREML_EMULATOR_BUILDER", "host")
        patch.setenv("SSL_CERT_FILE", str(cert_file))  # what service.run() trusts
        patch.chdir(base / "app")
        with mock_aml(root=base / "root", strict=False):
            from azureml.core import Image, Webservice, Workspace
            from azureml.core.image import ContainerImage
            from azureml.core.webservice import AciWebservice

            ws = Workspace.get("ws", subscription_id="sub", resource_group="rg")
            image_config = ContainerImage.image_configuration(
                "score.py", "python", dependencies=["helper.py"]
            )
            image = Image.create(ws, "last", [], image_config)
            image.wait_for_creation()
            config = AciWebservice.deploy_configuration(
                ssl_enabled=True,
                ssl_cert_pem_file=str(cert_file),
                ssl_key_pem_file=str(key_file),
                ssl_cname=CNAME,
            )
            service = Webservice.deploy_from_image(ws, "last-aci", image, config)
            service.wait_for_deployment()
            assert service.state == "Healthy", service.get_logs()
            yield {
                "ws": ws, "service": service, "image": image, "cert": cert_file, "key": key_file,
            }  # fmt: skip
            service.delete()


def test_an_ssl_service_gives_the_certificate_and_key_it_serves_with(
    world: dict[str, Any],
) -> None:
    from azureml.core.webservice import AciWebservice, Webservice

    service = world["service"]
    again = Webservice(world["ws"], "last-aci")  # a fresh read of the record
    assert isinstance(again, AciWebservice)
    for each in (service, again):
        assert each.ssl_certificate == world["cert"].read_text()
        assert each.ssl_key == world["key"].read_text()
        assert "BEGIN PRIVATE KEY" in each.ssl_key
    # The paths the emulator keeps are its own, not part of the SDK's payload.
    payload = again.serialize()
    assert payload["sslEnabled"] is True
    assert not {"sslCertPemFile", "sslKeyPemFile"} & payload.keys()


def test_a_service_whose_key_file_is_gone_says_which_file(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from azureml.core.webservice import Webservice
    from azureml.exceptions import WebserviceException

    key = world["key"]
    kept = tmp_path / "key.pem"
    key.rename(kept)
    try:
        with pytest.raises(WebserviceException, match=r"ssl_key_pem_file .*key\.pem"):
            _ = Webservice(world["ws"], "last-aci").ssl_key
    finally:
        kept.rename(key)


def test_run_takes_input_data_on_each_service_type_and_input_on_the_abstract_base(
    world: dict[str, Any],
) -> None:
    from azureml.core.webservice import AciWebservice, AksWebservice, LocalWebservice, Webservice

    service = world["service"]
    assert service.run(input_data=json.dumps({"a": 1})) == {"echo": '{"a": 1}'}
    assert Webservice.run(service, input=json.dumps([2])) == {"echo": "[2]"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'input'"):
        service.run(input="[3]")
    for service_type in (AciWebservice, AksWebservice, LocalWebservice):
        assert list(inspect.signature(service_type.run).parameters) == ["self", "input_data"]
    assert list(inspect.signature(Webservice.run).parameters) == ["self", "input"]


def _read(uri: str) -> str:
    assert uri.startswith("file://"), uri
    return Path(url2pathname(urlsplit(uri).path)).read_text()


def test_a_container_image_lists_its_assets_and_target_runtime(world: dict[str, Any]) -> None:
    from azureml.core import Image
    from azureml.core.image import ContainerImage

    again = Image(world["ws"], id=world["image"].id)
    assert isinstance(again, ContainerImage)
    for image in (world["image"], again):
        driver, helper = image.assets
        assert (driver.id, driver.mime_type, driver.unpack) == (
            "driver",
            "application/x-python",
            False,
        )
        assert _read(driver.url) == SCRIPT
        assert (helper.id, helper.mime_type, helper.unpack) == (
            "helper.py",
            "application/octet-stream",
            True,
        )
        assert _read(helper.url) == "GREETING = 'hi'\n"
        runtime = image.target_runtime
        assert (runtime.runtime_type, runtime.targetArchitecture) == ("Python", "amd64")
        pip = runtime.properties["pipRequirements"]  # what the build installed
        assert pip.endswith("/context/environment/requirements.txt")
        _read(pip)
        assert "azureml-defaults" in _read(runtime.properties["condaEnvFile"])
        assert runtime.serialize()["runtimeType"] == "Python"


def test_the_local_debug_payload_is_the_sdk_s(world: dict[str, Any], tmp_path: Path) -> None:
    from azureml.core.environment import ContainerRegistry
    from azureml.core.image import ContainerImage
    from azureml.core.image.container import ContainerImageConfig
    from azureml.exceptions import WebserviceException

    Path("env.yml").write_text("dependencies:\n  - python=3.10\n")
    Path("Dockerfile.steps").write_text("RUN echo hi\n")
    config = ContainerImage.image_configuration(
        "score.py", "spark-py", conda_file="env.yml", docker_file="Dockerfile.steps",
        tags={"t": "1"}, description="d",
    )  # fmt: skip
    assert isinstance(config, ContainerImageConfig)
    payload = ContainerImageConfig.create_local_debug_payload(config, world["ws"], ["m:1"])
    assert payload["name"] == "local" and payload["imageFlavor"] == "WebApiContainer"
    assert (payload["kvTags"], payload["description"], payload["modelIds"]) == (
        {"t": "1"},
        "d",
        ["m:1"],
    )
    assert payload["targetRuntime"] == {
        "runtimeType": "SparkPython",
        "targetArchitecture": "amd64",
        "properties": {"pipRequirements": "requirements.txt", "condaEnvFile": "env.yml"},
    }
    steps = _uploaded(world["ws"], payload["dockerFileUri"], tmp_path)
    assert steps.read_text() == "RUN echo hi\n"
    assert payload["assets"] == [] and payload["driverProgram"] == "driver"

    custom = ContainerImage.image_configuration("score.py", "python", base_image="my/base:1")
    payload = custom.create_local_debug_payload(world["ws"], [])
    assert payload["baseImage"] == "my/base:1" and payload["modelIds"] is None
    assert payload["targetRuntime"]["runtimeType"] == "PythonCustom"
    custom.base_image_registry = ContainerRegistry()
    custom.base_image_registry.address = "myregistry.azurecr.io"
    with pytest.raises(WebserviceException, match="Address, Username and Password must be"):
        custom.create_local_debug_payload(world["ws"], [])
    gpu = ContainerImage.image_configuration("score.py", "python", enable_gpu=True)
    with pytest.raises(WebserviceException, match="Local web services do not support GPUs"):
        gpu.create_local_debug_payload(world["ws"], [])


def test_a_container_image_runs_once_locally_and_leaves_nothing_running(
    world: dict[str, Any],
) -> None:
    from azureml.core import Webservice
    from azureml.core.image import ContainerImage
    from azureml.exceptions import WebserviceException

    image = world["image"]
    assert isinstance(image, ContainerImage)
    before = {service.name for service in Webservice.list(world["ws"])}
    assert ContainerImage.run(image, json.dumps({"x": 1})) == {"echo": '{"x": 1}'}
    assert {service.name for service in Webservice.list(world["ws"])} == before
    with pytest.raises(WebserviceException, match="You must provide input data"):
        image.run("")


def _uploaded(ws: Any, uri: str, target: Path) -> Path:
    """Download what a payload names from the workspace's default datastore."""
    prefix = "azureml://datastores/workspaceblobstore/paths/"
    assert uri.startswith(prefix), uri
    path = uri[len(prefix) :]
    assert path.startswith("LocalUpload/")
    ws.get_default_datastore().download(str(target), prefix=path, show_progress=False)
    return target / path


def test_the_image_service_payloads_carry_the_uploaded_files(
    world: dict[str, Any], tmp_path: Path
) -> None:
    import tarfile
    import types

    from azureml.core import Environment
    from azureml.core.image import ContainerImage
    from azureml.core.image.container import ContainerImageConfig
    from azureml.core.model import InferenceConfig
    from azureml.exceptions import WebserviceException

    ws = world["ws"]
    Path("env.yml").write_text("dependencies:\n  - python=3.10\n")
    config = ContainerImage.image_configuration(
        "score.py", "python", conda_file="env.yml", dependencies=["helper.py"],
        enable_gpu=True, properties={"p": "1"},
    )  # fmt: skip
    payload = ContainerImageConfig.build_create_payload(config, ws, "img", ["m:1"])
    assert (payload["name"], payload["modelIds"], payload["properties"]) == (
        "img",
        ["m:1"],
        {"p": "1"},
    )
    runtime = payload["targetRuntime"]
    assert (runtime["runtimeType"], runtime["properties"]["installCuda"]) == ("Python", True)
    assert (
        _uploaded(ws, runtime["properties"]["pipRequirements"], tmp_path / "a").read_text()
        == "azureml-defaults\n"
    )
    assert (
        "python=3.10"
        in _uploaded(ws, runtime["properties"]["condaEnvFile"], tmp_path / "b").read_text()
    )
    driver, helper = payload["assets"]
    assert (driver["id"], driver["mimeType"]) == ("driver", "application/x-python")
    assert _uploaded(ws, driver["url"], tmp_path / "c").read_text() == SCRIPT
    assert helper["unpack"] is True and helper["id"].endswith(".tar.gz")
    with tarfile.open(_uploaded(ws, helper["url"], tmp_path / "d")) as tar:
        assert tar.getnames() == ["helper.py"]

    source = Path("src")
    source.mkdir(exist_ok=True)
    (source / "entry.py").write_text(SCRIPT)
    legacy = InferenceConfig(entry_script="entry.py", runtime="python", source_directory="src")
    payload = InferenceConfig.build_create_payload(legacy, ws, "inf", [])
    assert payload["driverProgram"] == "entry.py" and payload["modelIds"] is None
    driver, folder = payload["assets"]
    assert _uploaded(ws, driver["url"], tmp_path / "e").read_text() == SCRIPT
    with tarfile.open(_uploaded(ws, folder["url"], tmp_path / "f")) as tar:
        assert "src/entry.py" in tar.getnames()
    gone = InferenceConfig("score.py", runtime="python", conda_file="env.yml")
    Path("env.yml").unlink()  # after the configuration checked it
    with pytest.raises(WebserviceException, match=r"no such file or directory .*env\.yml"):
        InferenceConfig.build_create_payload(gone, ws, "x", [])

    env = Environment("profiled")
    with_env = InferenceConfig(entry_script="score.py", environment=env)
    resources = types.SimpleNamespace(cpu=0.5, memory_in_gb=None)
    profile = InferenceConfig.build_profile_payload(
        with_env, "prof", workspace=ws, models=[], dataset_id="ds-1",
        container_resource_requirements=resources, description="d",
    )  # fmt: skip
    assert (profile["name"], profile["inputDatasetId"], profile["description"]) == (
        "prof",
        "ds-1",
        "d",
    )
    assert profile["containerResourceRequirements"] == {"cpu": 0.5}
    request = profile["environmentImageRequest"]
    assert request["environment"]["name"] == "profiled" and request["modelIds"] == []
    assert request["driverProgram"] == "score.py"
    with pytest.raises(WebserviceException, match="has an environment"):
        with_env.build_create_payload(ws, "x", [])

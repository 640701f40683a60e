"""SDK v1 members through the shim that deployment notebooks read but rarely run: the default
AmlCompute configurations on ``Workspace``, the SDK's abstract members (``Webservice.update``,
``Image.image_configuration``, ``ImageConfig``), and the tabular factory under its own name."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import mock_aml


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("more-members")
    with mock_aml(root=base / "root", strict=False):
        from azureml.core import Workspace

        yield Workspace.get("ws", subscription_id="sub", resource_group="rg")


def test_the_default_cluster_configurations_are_the_sdk_s(ws: Any) -> None:
    from azureml.core import Workspace
    from azureml.core.compute.aks import ComputeTargetException

    cpu = Workspace.DEFAULT_CPU_CLUSTER_CONFIGURATION
    gpu = ws.DEFAULT_GPU_CLUSTER_CONFIGURATION
    assert (cpu.vm_size, cpu.vm_priority, gpu.vm_size) == (
        "STANDARD_DS2_V2", "dedicated", "STANDARD_NC6",
    )  # fmt: skip
    scale = cpu.scale_settings
    assert (scale.minimum_node_count, scale.maximum_node_count) == (0, 2)
    assert scale.idle_seconds_before_scaledown == 1800
    assert cpu.remote_login_port_public_access == "NotSpecified" and cpu.enable_node_public_ip
    configuration = type(cpu)
    with pytest.raises(ComputeTargetException, match="max nodes count is mandatory"):
        configuration(vm_size="STANDARD_DS2_V2")
    with pytest.raises(ComputeTargetException, match="greater than or equal to min nodes count"):
        configuration(min_nodes=3, max_nodes=1)
    with pytest.raises(ComputeTargetException, match="admin username must be provided"):
        configuration(max_nodes=1, admin_user_password="Secret#1")
    with pytest.raises(ComputeTargetException, match="not all virtual net information"):
        configuration(max_nodes=1, vnet_name="vnet")
    cpu.validate_configuration()  # the defaults pass the SDK's checks


def test_the_sdk_s_abstract_members_say_where_the_concrete_ones_are(ws: Any) -> None:
    # ws keeps the shim active: under xdist another test may have switched it off
    from azureml.core import Image, Webservice
    from azureml.core.image.container import ContainerImageConfig, ImageConfig

    with pytest.raises(NotImplementedError, match="use the update of AciWebservice"):
        Webservice.update(object(), "tags")
    with pytest.raises(NotImplementedError, match=r"ContainerImage\.image_configuration"):
        Image.image_configuration()
    base = ImageConfig()
    with pytest.raises(NotImplementedError, match=r"ContainerImage\.create\(ws, name, models"):
        base.build_create_payload(None, "image", [])
    with pytest.raises(NotImplementedError, match="each image configuration"):
        base.validate_configuration()
    assert issubclass(ContainerImageConfig, ImageConfig)


def test_the_tabular_factory_by_its_own_name(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Dataset
    from azureml.data.dataset_factory import TabularDatasetFactory

    assert Dataset.Tabular is TabularDatasetFactory
    datastore = ws.get_default_datastore()
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "t.parquet").write_bytes(b"PAR1")
    datastore.upload(str(tmp_path / "pq"), "pq", show_progress=False)
    lazy = TabularDatasetFactory.from_parquet_files((datastore, "pq/t.parquet"), validate=False)
    assert lazy._definition["read"] == {"format": "parquet", "include_path": False}

    class Frame:  # what register_pandas_dataframe uses of a DataFrame
        def to_csv(self, path: str, index: bool) -> None:
            Path(path).write_text("a,b\n1,x\n2,y\n")

    frame = TabularDatasetFactory.register_pandas_dataframe(
        Frame(), (datastore, "frames"), "frame", show_progress=False
    )
    assert (frame.name, frame.version) == ("frame", 1)
    assert Dataset.get_by_name(ws, "frame")._rows() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


def test_dask_dataframes_in_and_out(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from azureml.data import TabularDataset
    from azureml.data.dataset_factory import TabularDatasetFactory

    class Frame:  # what the factory uses of a pandas DataFrame
        def to_csv(self, path: str, index: bool) -> None:
            Path(path).write_text("a,b\n1,x\n")

    class DaskFrame:  # what it uses of a Dask DataFrame: its computed pandas DataFrame
        def compute(self) -> Frame:
            return Frame()

    datastore = ws.get_default_datastore()
    registered = TabularDatasetFactory.register_dask_dataframe(
        DaskFrame(), (datastore, "dask"), "dask-frame", tags={"from": "dask"}, show_progress=False
    )
    assert (registered.version, registered.tags) == (1, {"from": "dask"})
    assert registered._rows() == [{"a": 1, "b": "x"}]
    with pytest.raises(Exception, match="dataframe must be a dask DataFrame, not Frame"):
        TabularDatasetFactory.register_dask_dataframe(Frame(), (datastore, "dask"), "bad")

    assert isinstance(registered, TabularDataset)
    monkeypatch.setitem(sys.modules, "dask", None)  # as if dask were not installed
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"pip install 'dask\[dataframe\]'"):
        registered.to_dask_dataframe()
    fake = types.ModuleType("dask.dataframe")
    fake.from_pandas = lambda frame, npartitions: ("dask", frame, npartitions)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dask", types.ModuleType("dask"))
    monkeypatch.setitem(sys.modules, "dask.dataframe", fake)
    monkeypatch.setattr(registered, "to_pandas_dataframe", lambda *args: {"rows": args})
    assert registered.to_dask_dataframe() == ("dask", {"rows": ("null", "null")}, 1)


def test_inference_config_validation_script_content(tmp_path: Path) -> None:
    from azureml.core.model import InferenceConfig
    from azureml.exceptions import UserErrorException

    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    config = InferenceConfig(entry_script="score.py", source_directory=str(tmp_path))
    config.validation_script_content()  # parses
    (tmp_path / "score.py").write_text("def run(data:\n")
    with pytest.raises(UserErrorException, match="Please check it and try local deployment"):
        config.validation_script_content()
    (tmp_path / "score.py").unlink()
    with pytest.raises(UserErrorException, match=r"^Failed to open .*score\.py, please check"):
        config.validation_script_content()


def test_environment_training_sections_are_kept(ws: Any, tmp_path: Path) -> None:
    from azureml.core import Environment

    env = Environment("with-spark")
    assert (env.spark.repositories, env.spark.packages, env.spark.precache_packages) == (
        [], [], True,
    )  # fmt: skip
    assert env.databricks.pypi_libraries == [] and env.databricks.maven_libraries == []
    assert env.r is None
    env.spark.precache_packages = False
    env.spark.repositories = ["https://mmlspark.azureedge.net/maven"]
    env.spark.packages = [
        {"group": "com.microsoft.ml.spark", "artifact": "mmlspark", "version": "1"}
    ]
    env.databricks.pypi_libraries = [{"package": "azureml-sdk"}]
    env.databricks.egg_libraries = ["dbfs:/lib.egg"]
    data = env._serialize_to_dict()
    assert data["spark"] == {
        "repositories": ["https://mmlspark.azureedge.net/maven"],
        "packages": [{"group": "com.microsoft.ml.spark", "artifact": "mmlspark", "version": "1"}],
        "precachePackages": False,
    }
    assert data["databricks"]["pypiLibraries"] == [{"package": "azureml-sdk"}]
    assert data["r"] is None
    env.save_to_directory(str(tmp_path / "env"))
    loaded = Environment.load_from_directory(str(tmp_path / "env"))
    assert loaded.spark.precache_packages is False
    assert loaded.databricks.egg_libraries == ["dbfs:/lib.egg"]
    registered = Environment.get(ws, env.register(ws).name)
    assert registered.spark.repositories == ["https://mmlspark.azureedge.net/maven"]
    assert registered.databricks.jar_libraries == [] and registered.databricks.rcran_libraries == []

"""``from azureml.monitoring import ModelDataCollector`` as a scoring script uses it, driven with
the variables a service's replica gets: Azure's CSV layout for lists and numpy arrays, the hour
boundary, debug mode, a bad designation, and several processes appending to one file (one
header, whole rows)."""

from __future__ import annotations

import csv
import datetime
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from emulator import mock_aml
from emulator.server import model_data

WORKSPACE = "sub-1/rg-1/ws-1"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The variables of a replica deployed with ``collect_model_data=True``."""
    monkeypatch.setenv(model_data.STORAGE_ENABLED, "true")
    monkeypatch.setenv(model_data.DATA_DIR, str(tmp_path / "modeldata"))
    monkeypatch.setenv(model_data.WORKSPACE, WORKSPACE)
    monkeypatch.setenv(model_data.SERVICE, "svc")
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path / "app"))
    for version in ("1", "3", "12"):
        (tmp_path / "app" / "azureml-models" / "iris" / version).mkdir(parents=True)
    return tmp_path / "modeldata"


def _today(designation: str, *, hour: bool = False, name: str = "data.csv") -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    day = f"{now:%Y/%m/%d}" + (f"/{now:%H}" if hour else "")
    return f"{WORKSPACE}/svc/iris/12/{designation}/{day}/{name}"


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_numpy_rows_and_predictions_with_their_correlations(
    data_dir: Path,
) -> None:
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        inputs = ModelDataCollector("iris", designation="inputs", feature_names=["a", "b"])
        predictions = ModelDataCollector("iris", designation="predictions")
        correlation = inputs.collect(np.array([[1.5, 2.0], [3.0, 4.0]]))
        assert correlation is not None
        labelled = predictions.add_correlations(np.array([["x"], ["y"]]), correlation)
        assert predictions.collect(labelled) is None

    header, *rows = _rows(data_dir / _today("inputs"))
    assert header[:3] == ["a", "b", "$aml_dc_correlation_id"] and len(header) == 10
    assert [row[:2] for row in rows] == [["1.5", "2.0"], ["3.0", "4.0"]]
    assert rows[0][2] == rows[1][2] == correlation["$aml_dc_correlation_id"]
    assert rows[0][6:9] == ["svc", "iris", "12"]  # the image's highest model version
    rows = _rows(data_dir / _today("predictions"))  # no feature names given: no header
    assert [row[0] for row in rows] == ["x", "y"]
    assert {row[1] for row in rows} == {correlation["$aml_dc_correlation_id"]}


def test_hour_boundary_collection_names_and_explicit_identity(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(model_data.BOUNDARY, "hour")
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        inputs = ModelDataCollector("iris", designation="inputs", feature_names=["a"])
        correlation = inputs.collect([7])
        signals = ModelDataCollector("iris", designation="signals", collection_name="drift")
        signals.collect([0.25, "high"])
        other = ModelDataCollector(
            "iris", "labels", ["y"], "S/R/W", webservice_name="other", model_version="5"
        )
        other.collect(["cat"])
    assert correlation is not None and correlation["$aml_dc_boundary"] == 60
    assert _rows(data_dir / _today("inputs", hour=True))[1][:1] == ["7"]
    assert _rows(data_dir / _today("signals", hour=True, name="drift.csv")) == [["0.25", "high"]]
    now = datetime.datetime.now(datetime.timezone.utc)
    labels = data_dir / f"s/r/w/other/iris/5/labels/{now:%Y/%m/%d/%H}/data.csv"
    assert _rows(labels) == [["y"], ["cat"]]


def test_without_the_switch_nothing_is_written_and_azure_says_how_to_enable_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(model_data.DATA_DIR, str(tmp_path / "modeldata"))
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        collector = ModelDataCollector("iris", designation="inputs", feature_names=["a"])
        assert collector.collect([1]) is None
    assert "Data collection is not enabled. Set environment variable " in capsys.readouterr().out
    assert not (tmp_path / "modeldata").exists()


def test_debug_mode_prints_blocks_and_a_bad_designation_collects_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(model_data.STORAGE_ENABLED)
    monkeypatch.setenv(model_data.DEBUG, "true")
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        ModelDataCollector("iris", designation="general", feature_names=["a", "b"]).collect([1, 2])
        wrong = ModelDataCollector("iris", designation="outputs")
        assert wrong.collect([1]) is None
        with pytest.warns(UserWarning, match="input data must be list"):
            ModelDataCollector("iris").collect({"a": 1})
    out = capsys.readouterr().out
    assert "Data collection is in debug mode." in out
    assert "a,b\r\n1,2\r\n" in out
    assert "Incorrect designation value. Supported values: 'default', 'inputs'" in out
    assert not data_dir.exists()  # debug mode prints, stores nothing


def _collect_many(worker: int) -> None:
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        collector = ModelDataCollector("iris", designation="general", feature_names=["w", "i"])
        for index in range(50):
            collector.collect([worker, index])


def test_workers_appending_to_one_file_leave_one_header_and_whole_rows(data_dir: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        pool.map(_collect_many, range(3))
    header, *rows = _rows(data_dir / _today("general", name="default.csv"))
    assert header == ["w", "i"]
    assert sorted((int(w), int(i)) for w, i in rows) == [
        (w, i) for w in range(3) for i in range(50)
    ]


def test_a_file_removed_while_collecting_comes_back_with_its_header(data_dir: Path) -> None:
    with mock_aml():
        from azureml.monitoring import ModelDataCollector

        collector = ModelDataCollector("iris", designation="labels", feature_names=["y"])
        collector.collect(["first"])
        path = data_dir / _today("labels")
        assert _rows(path) == [["y"], ["first"]]  # readable at once: the collector holds it open
        path.unlink()
        collector.collect(["second"])
        collector.collect(["third"])
    assert _rows(path) == [["y"], ["second"], ["third"]]

"""``azureml.data.TabularDataset``: rows read from delimited files on the datastore (or a URL
the root serves), with the SDK's lazily added steps."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulator.sdk.dataset_abstract import AbstractDataset
from emulator.sdk.dataset_tabular_read import Row, apply_steps, read_rows, to_dataframe
from emulator.sdk.dataset_timeseries import check_timestamps
from emulator.sdk.exceptions import DatasetTimestampMissingError, UserErrorException
from emulator.sdk.not_emulated import not_emulated

if TYPE_CHECKING:
    from emulator.sdk.dataset_file import FileDataset

__all__ = ["TabularDataset"]

_PROFILE = "a dataset profile is computed by a run on Azure compute, which the emulator has not"


class TabularDataset(AbstractDataset):
    """A table: ``to_pandas_dataframe()`` reads it; ``take``/``skip``/... derive new ones."""

    def __init__(self) -> None:
        super().__init__()

    def _table(self) -> tuple[list[str], list[Row]]:
        columns, rows = read_rows(self._files(), self._definition["read"] or {})
        return apply_steps(columns, rows, self._definition["steps"])

    def _rows(self) -> list[Row]:
        """The rows as dicts (column → value): what ``Model.profile`` sends as requests."""
        return self._table()[1]

    def to_pandas_dataframe(
        self, on_error: str = "null", out_of_range_datetime: str = "null"
    ) -> Any:
        """The table as a pandas DataFrame (pandas must be installed)."""
        return to_dataframe(*self._table())

    def to_dask_dataframe(
        self,
        sample_size: int = 10000,
        dtypes: dict[str, Any] | None = None,
        on_error: str = "null",
        out_of_range_datetime: str = "null",
    ) -> Any:
        """The table as a Dask DataFrame (dask[dataframe] must be installed). [emulator] One
        partition of rows read now, as the files are local; ``dtypes`` are applied to it."""
        try:
            import dask.dataframe as dask_dataframe
        except ImportError:
            raise ImportError(
                "to_dask_dataframe needs dask, which is not installed in this environment. "
                "[emulator] Install it where this code runs: pip install 'dask[dataframe]'."
            ) from None
        frame = self.to_pandas_dataframe(on_error, out_of_range_datetime)
        if dtypes:
            frame = frame.astype(dtypes)
        return dask_dataframe.from_pandas(frame, npartitions=1)

    def take(self, count: int) -> TabularDataset:
        """The first ``count`` rows."""
        return self._with_step("take", _count(count))

    def skip(self, count: int) -> TabularDataset:
        """All but the first ``count`` rows."""
        return self._with_step("skip", _count(count))

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        """Only ``columns``."""
        derived = self._with_step("keep_columns", _names(columns))
        if validate:
            derived._table()
        return derived

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        """Every column but ``columns``."""
        return self._with_step("drop_columns", _names(columns))

    def take_sample(self, probability: float, seed: int | None = None) -> TabularDataset:
        """Each row kept with ``probability`` (a fixed ``seed`` picks the same rows again)."""
        return self._with_step("sample", _probability(probability), _seed(seed))

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[TabularDataset, TabularDataset]:
        """Two datasets: about ``percentage`` of the rows, and the others."""
        fixed = _seed(seed)
        share = _probability(percentage)
        return self._with_step("split", share, fixed, True), self._with_step(
            "split", share, fixed, False
        )

    def to_csv_files(self, separator: str = ",") -> FileDataset:
        """A file dataset of the rows as CSV (written now to the default datastore)."""
        from emulator.sdk.dataset_convert import to_csv_files

        return to_csv_files(self, separator)

    def to_parquet_files(self) -> FileDataset:
        """A file dataset of the rows as Parquet (needs pyarrow)."""
        from emulator.sdk.dataset_convert import to_parquet_files

        return to_parquet_files(self)

    @not_emulated(_PROFILE)
    def get_profile(self, workspace: Any = None) -> Any: ...

    @not_emulated(_PROFILE)
    def get_profile_runs(self, workspace: Any = None) -> Any: ...

    @not_emulated(_PROFILE)
    def submit_profile_run(
        self, compute_target: Any, experiment: Any, cache_datastore_name: str | None = None
    ) -> Any: ...

    @not_emulated("it needs a Spark session (Synapse or Databricks); use to_pandas_dataframe")
    def to_spark_dataframe(self) -> Any: ...

    @property
    def timestamp_columns(self) -> tuple[str | None, str | None]:
        """(timestamp, partition_timestamp): the columns ``with_timestamp_columns`` set."""
        for step in reversed(self._definition["steps"]):
            if step[0] == "timestamps":
                return step[1], step[2]
        return (None, None)

    def with_timestamp_columns(
        self,
        timestamp: str | None = None,
        partition_timestamp: str | None = None,
        validate: bool = False,
        **kwargs: Any,
    ) -> TabularDataset:
        """The same rows with timestamp columns set (``None`` clears them), for the time
        filters; ``fine_grain_timestamp`` / ``coarse_grain_timestamp`` are the old names."""
        fine, coarse = kwargs.get("fine_grain_timestamp"), kwargs.get("coarse_grain_timestamp")
        if (timestamp or partition_timestamp) and (fine or coarse):
            raise UserErrorException(
                "fine_grain_timestamp and coarse_grain_timestamp have been replaced by timestamp "
                "and partition_timestamp parameters and cannot be used together."
            )
        fine, coarse = (
            (timestamp, partition_timestamp)
            if timestamp or partition_timestamp
            else (
                fine,
                coarse,
            )
        )
        if not fine and coarse:
            raise UserErrorException(
                "partition_timestamp can be assigned only if timestamp is assigned."
            )
        if fine and fine == coarse:
            raise UserErrorException("partition_timestamp cannot be the same as timestamp.")
        derived: TabularDataset = self._with_step("timestamps", fine or None, coarse or None)
        if validate:
            check_timestamps(*derived._table(), [c for c in (fine, coarse) if c])
        return derived

    def time_after(
        self, start_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows at or after ``start_time`` (after it without ``include_boundary``)."""
        return self._time_filter("time_after", start_time, None, include_boundary, validate)

    def time_before(
        self, end_time: datetime, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows at or before ``end_time``."""
        return self._time_filter("time_before", None, end_time, include_boundary, validate)

    def time_between(
        self,
        start_time: datetime,
        end_time: datetime,
        include_boundary: bool = True,
        validate: bool = True,
    ) -> TabularDataset:
        """The rows between ``start_time`` and ``end_time``."""
        return self._time_filter("time_between", start_time, end_time, include_boundary, validate)

    def time_recent(
        self, time_delta: timedelta, include_boundary: bool = True, validate: bool = True
    ) -> TabularDataset:
        """The rows of the last ``time_delta`` (from now, this machine's local time)."""
        start = datetime.now() - time_delta
        return self._time_filter("time_recent", start, None, include_boundary, validate)

    def _time_filter(
        self,
        method: str,
        lower: datetime | None,
        upper: datetime | None,
        include_boundary: bool,
        validate: bool,
    ) -> TabularDataset:
        fine, coarse = self.timestamp_columns
        if fine is None:
            raise DatasetTimestampMissingError(
                f"Cannot perform time-series filter `{method}` on dataset without timestamp "
                "columns defined.\nPlease use `with_timestamp_columns` to enable time-series "
                "capabilities"
            )
        bounds = [None if b is None else b.isoformat() for b in (lower, upper)]
        derived: TabularDataset = self._with_step(
            "time_filter", fine, coarse, *bounds, bool(include_boundary)
        )
        if validate:
            check_timestamps(*self._table(), [c for c in (fine, coarse) if c])
        return derived


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise UserErrorException(f"count must be a non-negative integer, not {count!r}.")
    return count


def _names(columns: str | list[str]) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names or not all(isinstance(n, str) for n in names):
        raise UserErrorException(
            f"columns must be a column name or a list of them, not {columns!r}."
        )
    return names


def _probability(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise UserErrorException(
            f"The value {value!r} must be a number between 0 and 1 (exclusive)."
        )
    return float(value)


def _seed(seed: int | None) -> int:
    """The seed to store: the given one, else one drawn now (so both halves of a split agree)."""
    return seed if seed is not None else random.SystemRandom().randrange(2**31)

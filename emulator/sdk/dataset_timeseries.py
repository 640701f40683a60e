"""A tabular dataset's time series: its timestamp columns' values read as datetimes, and the
rows the SDK's ``time_after`` / ``time_before`` / ``time_between`` / ``time_recent`` keep.

Azure's dataflow compares the timestamp column (and, when set, the partition timestamp with
bounds rounded to the second: the lower floored, the upper rounded to the nearest second) with
the bounds; rows without a timestamp are dropped. Values are datetimes or ISO 8601 text here
(the delimited reader keeps text); times with a zone are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from emulator.sdk.exceptions import UserErrorException

_HALF_SECOND = 500000


def as_datetime(value: Any) -> datetime | None:
    """``value`` as a naive UTC datetime; ``None`` when it is empty or not a time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def check_timestamps(columns: list[str], rows: list[dict[str, Any]], names: list[str]) -> None:
    """The SDK's validation: each timestamp column exists and holds datetimes."""
    for name in names:
        if name not in columns:
            raise UserErrorException(
                f"Timestamp column {name!r} not found. Columns: {', '.join(columns)}."
            )
        bad = [row[name] for row in rows if row[name] not in (None, "")]
        bad = [value for value in bad if as_datetime(value) is None]
        if bad:
            raise UserErrorException(
                f"Column {name!r} is not a datetime column: {bad[0]!r} is not a time. "
                "[emulator] Timestamps are datetimes or ISO 8601 text (2024-01-31T12:00:00)."
            )


def keep_in_range(rows: list[dict[str, Any]], step: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows a ``time_filter`` step (fine, coarse, lower, upper, include_boundary) keeps."""
    _, fine, coarse, lower_text, upper_text, include = step
    lower = as_datetime(lower_text)
    upper = as_datetime(upper_text)
    kept = [row for row in rows if _within(as_datetime(row.get(fine)), lower, upper, include)]
    if not coarse:
        return kept
    if lower is not None:
        lower = lower.replace(microsecond=0)
    if upper is not None:
        if upper.microsecond > _HALF_SECOND:
            upper += timedelta(seconds=1)
        upper = upper.replace(microsecond=0)
    return [row for row in kept if _within(as_datetime(row.get(coarse)), lower, upper, include)]


def _within(
    moment: datetime | None, lower: datetime | None, upper: datetime | None, include: bool
) -> bool:
    if moment is None:
        return False
    if lower is not None and (moment < lower if include else moment <= lower):
        return False
    return upper is None or (moment <= upper if include else moment < upper)

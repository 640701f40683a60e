"""The service page's Application Insights section: the items a service's replicas recorded
instead of sending them (:mod:`emulator.server.telemetry`), newest last, as an HTML table that
the page's live refresh swaps in (like the charts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import escape

from emulator.server.telemetry import telemetry_path

#: Items shown (the newest); ``amlemu logs SERVICE --telemetry`` prints them all.
ITEMS = 100
_COLUMNS = ("Time (UTC)", "Replica", "Type", "Item", "Result", "Duration", "Request id")


@dataclass(frozen=True)
class TelemetryItem:
    """One recorded Application Insights item, as the service page lists it."""

    time: str
    replica: int
    kind: str
    what: str
    result: str
    duration: str
    request_id: str
    detail: str


def recorded(replicas: list[dict[str, Any]]) -> list[TelemetryItem]:
    """The newest items the replicas recorded instead of sending them (newest last)."""
    items = []
    for replica in replicas:
        if not replica["log"]:
            continue
        try:
            lines = telemetry_path(Path(replica["log"])).read_text(errors="replace").splitlines()
        except OSError:  # nothing recorded (Application Insights off, or not called yet)
            continue
        for line in lines[-ITEMS:]:
            try:
                item = json.loads(line)
            except ValueError:  # a line being written
                continue
            items.append(_telemetry_item(replica["replica"], item))
    return sorted(items, key=lambda item: item.time)[-ITEMS:]


def _telemetry_item(replica: int, item: dict[str, Any]) -> TelemetryItem:
    kind = str(item.get("type", "?"))
    if kind == "request":
        what = f"{item.get('http_method', '')} {item.get('name', '')}"
        result = f"{item.get('resultCode', '')}" + ("" if item.get("success") else " (failed)")
        detail = str(item.get("Response Value") or "")
    elif kind == "exception":
        trace = str(item.get("exception", "")).strip().splitlines()
        what = trace[-1] if trace else str(item.get("message", ""))
        result, detail = str(item.get("severity", "")), "\n".join(trace)
    else:
        what, result, detail = str(item.get("message", "")), str(item.get("severity", "")), ""
    return TelemetryItem(
        time=str(item.get("time", "")),
        replica=replica,
        kind=kind,
        what=what,
        result=result,
        duration=str(item.get("duration", "")),
        request_id=str(item.get("Request Id", "")),
        detail=detail,
    )


def section(service: str, items: list[TelemetryItem], enabled: bool) -> str:
    """The section's HTML: the table, or why there is nothing (and how to turn it on)."""
    if not items:
        if enabled:
            return (
                '<p class="muted">Application Insights is enabled; nothing has been recorded '
                "yet.</p>"
            )
        return (
            '<p class="muted">Application Insights is off for this service: deploy it with '
            "<code>enable_app_insights=True</code> (or <code>service.update(enable_app_insights="
            "True)</code>) to record its requests, exceptions and <code>print()</code> output here."
            "</p>"
        )
    head = "".join(f"<th>{column}</th>" for column in _COLUMNS)
    rows = "".join(_row(item) for item in items)
    return (
        '<p class="muted">What the scoring server would have sent to Application Insights, '
        "recorded instead (nothing leaves this machine); newest last. "
        f"<code>amlemu logs {escape(service)} --telemetry</code> prints every item.</p>"
        f"<table><tr>{head}</tr>{rows}</table>"
    )


def _row(item: TelemetryItem) -> str:
    what = str(escape(item.what))
    if item.detail:  # a response value or traceback, unfolded on demand
        what = f"<details><summary>{what}</summary><pre>{escape(item.detail)}</pre></details>"
    cells = (
        escape(item.time),
        str(item.replica),
        escape(item.kind),
        what,
        escape(item.result),
        escape(item.duration),
        f"<code>{escape(item.request_id)}</code>",
    )
    tds = "".join(f"<td>{cell}</td>" for cell in cells)
    return f'<tr class="telemetry {escape(item.kind)}">{tds}</tr>'

"""What each page shows, built from :mod:`emulator.cli.resources` (the same records and
details ``amlemu describe`` prints), plus the build log split into steps and log tails."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.cli import resources
from emulator.cli.output import pretty_error
from emulator.errors import AzureMLException
from emulator.portal import charts
from emulator.portal.metrics import MetricsRecorder
from emulator.sdk.model import Model
from emulator.sdk.webservice.aks import AksWebservice
from emulator.sdk.workspace import Workspace

_LOG_LINES = 200


@dataclass(frozen=True)
class LogLine:
    text: str
    failing: bool


def models(ws: Workspace) -> dict[str, Any]:
    """Every model name with its versions (newest first), tags and properties."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for model in Model.list(ws, latest=False):
        grouped[model.name].append(resources.model_details(model))
    for versions in grouped.values():
        versions.sort(key=lambda d: -d["version"])
    return {"models": dict(sorted(grouped.items()))}


def images(ws: Workspace) -> dict[str, Any]:
    return {"images": [resources.image_details(i) for i in resources.list_images(ws)]}


def image(ws: Workspace, image_id: str) -> dict[str, Any]:
    name, _, version = image_id.partition(":")
    found = resources.find_image(
        ws, resources.name_version(f"{name}:{version}" if version else name)
    )
    details = resources.image_details(found)
    return {
        "image": details,
        "error_text": pretty_error(details["error"]) if details["error"] else None,
        "log": build_log(Path(details["buildLogPath"]), details["failingStep"]),
    }


def build_log(path: Path, failing_step: str | None) -> list[LogLine]:
    """The build log's lines; those of the failing step (from its ``Step:`` line to the next
    step) are marked so the page can highlight them."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return [LogLine("(no build log yet)", False)]
    lines, inside = [], False
    for line in text.splitlines():
        if "Step: " in line:
            inside = failing_step is not None and line.rstrip().endswith(f"Step: {failing_step}")
        lines.append(LogLine(line, inside or "FAILED step" in line))
    return lines


def compute(ws: Workspace) -> dict[str, Any]:
    targets = []
    for target in resources.list_compute(ws):
        details = resources.compute_details(target)
        errors = details["properties"]["provisioningErrors"]
        details["error_text"] = pretty_error(errors) if errors else None
        targets.append(details)
    return {"targets": targets}


def services(ws: Workspace) -> dict[str, Any]:
    return {
        "services": [resources.service_details(service) for service in resources.list_services(ws)]
    }


def service(
    ws: Workspace, name: str, recorder: MetricsRecorder, show_keys: bool = False
) -> dict[str, Any]:
    """The deployments blade: details, replicas' log tails, models, image, and the charts
    (live only for services this process hosts)."""
    found = resources.find_service(ws, name)
    details = resources.service_details(found, show_keys)
    hosted = recorder.hosted(name)
    if hosted:
        recorder.sample()
    chart = charts.line_chart("Requests per second by status", recorder.series(name))
    scale_chart = None
    if isinstance(found, AksWebservice) and (details.get("autoScaler") or {}).get(
        "autoscaleEnabled"
    ):
        scale_chart = (
            _scale_chart(found, sum(r["running"] for r in details["replicas"])) if hosted else None
        )
    return {
        "service": details,
        "error_text": pretty_error(details["error"]) if details["error"] else None,
        "logs": [(r["replica"], _tail(r["log"])) for r in details["replicas"]],
        "models": [_model(ws, model_id) for model_id in details["modelIds"]],
        "image": _image(ws, details["imageId"]),
        "hosted": hosted,
        "request_chart": chart if hosted else None,
        "scale_chart": scale_chart,
        "autoscaled": bool((details.get("autoScaler") or {}).get("autoscaleEnabled")),
    }


def _scale_chart(found: AksWebservice, running: int) -> str:
    """The autoscaler's decisions as a staircase, held until now at ``running`` replicas."""
    points: list[tuple[float, float]] = []
    for event in found.scale_history:
        if not points:
            points.append((event.timestamp, event.from_replicas))
        points.append((event.timestamp, event.to_replicas))
    points.append((time.time(), running))
    return charts.line_chart("Replicas over time", {"replicas": points}, step=True)


def _tail(path: str | None) -> str:
    if not path:
        return "(no log)"
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(log removed)"
    return "\n".join(lines[-_LOG_LINES:])


def _model(ws: Workspace, model_id: str) -> dict[str, Any]:
    try:
        return resources.model_details(Model(ws, id=model_id))
    except AzureMLException:
        return {"id": model_id, "name": model_id, "version": "?", "tags": {}, "properties": {}}


def _image(ws: Workspace, image_id: str | None) -> dict[str, Any] | None:
    if not image_id:
        return None
    try:
        return resources.image_details(resources.find_image(ws, resources.name_version(image_id)))
    except AzureMLException:
        return None


def deploy_choices(ws: Workspace) -> dict[str, Any]:
    """What the deploy form offers: built images, models, and AKS clusters that succeeded."""
    images_ok = [i for i in resources.list_images(ws) if i.creation_state == "Succeeded"]
    clusters = [
        t
        for t in resources.list_compute(ws)
        if t.type == "AKS" and t.provisioning_state == "Succeeded"
    ]
    return {
        "images": [i.id for i in images_ok],
        "models": [m.id for m in Model.list(ws, latest=False)],
        "clusters": [t.name for t in clusters],
    }

"""What each page shows, built from :mod:`emulator.views.resources` (the same records and
details ``amlemu describe`` prints), plus the build log split into steps, log tails and the
Application Insights items a service's replicas recorded (what ``amlemu logs --telemetry``
prints)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.errors import AzureMLException
from emulator.portal import charts, model_data, telemetry
from emulator.portal.metrics import MetricsRecorder
from emulator.sdk.model import Model
from emulator.sdk.workspace import Workspace
from emulator.views import online, resources
from emulator.views.text import pretty_error

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


def services(ws: Workspace, base_url: str | None) -> dict[str, Any]:
    """The v1 services and, beside them, the SDK v2 online endpoints with their deployments."""
    return {
        "services": [
            resources.service_details(service, model_data=False)
            for service in resources.list_services(ws)
        ],
        "endpoints": online.list_endpoints(ws.emulator_state, base_url),
        "served": base_url is not None,
    }


def online_endpoint(ws: Workspace, name: str, base_url: str | None) -> dict[str, Any]:
    """An online endpoint's blade: auth, scoring URI, traffic and mirroring, deployments."""
    endpoint = online.endpoint_details(ws.emulator_state, name, base_url)
    for deployment in endpoint["deployments"]:
        error = deployment["error"]
        deployment["error_text"] = pretty_error(error) if error else None
    return {"endpoint": endpoint, "served": base_url is not None}


def online_deployment(ws: Workspace, endpoint: str, name: str) -> dict[str, Any]:
    """A deployment's blade: state (with Azure's error), instances, what it runs, its logs."""
    details = online.deployment_details(ws.emulator_state, endpoint, name)
    return {
        "deployment": details,
        "error_text": pretty_error(details["error"]) if details["error"] else None,
        "logs": [(r["replica"], _tail(r["log"])) for r in details["replicas"]],
    }


def service(
    ws: Workspace, name: str, recorder: MetricsRecorder, show_keys: bool = False
) -> dict[str, Any]:
    """The deployments blade: details, models, image, and what :func:`live` refreshes."""
    found = resources.find_service(ws, name)
    details = resources.service_details(found, show_keys)
    return {
        "service": details,
        "error_text": pretty_error(details["error"]) if details["error"] else None,
        "models": [_model(ws, model_id) for model_id in details["modelIds"]],
        "image": _image(ws, details["imageId"]),
        **_live(details, recorder),
    }


def live(ws: Workspace, name: str, recorder: MetricsRecorder) -> dict[str, Any]:
    """What the service page polls for: state, charts, replicas' log tails, App Insights items."""
    details = resources.service_details(resources.find_service(ws, name))
    return {"state": details["state"], **_live(details, recorder)}


def _live(details: dict[str, Any], recorder: MetricsRecorder) -> dict[str, Any]:
    name = details["name"]
    recorder.sample()
    autoscaled = bool((details.get("autoScaler") or {}).get("autoscaleEnabled"))
    charts_html = []
    if recorder.live(name):
        charts_html.append(
            charts.line_chart("Requests per second by status", recorder.requests(name))
        )
        charts_html.append(charts.line_chart("Mean latency (ms)", recorder.latency(name)))
        if autoscaled:
            charts_html.append(
                charts.line_chart("Replicas over time", recorder.replicas(name), step=True)
            )
    enabled = bool(details.get("appInsightsEnabled"))
    return {
        "charts": "".join(charts_html),
        "logs": [(r["replica"], _tail(r["log"])) for r in details["replicas"]],
        "telemetry": telemetry.section(name, telemetry.recorded(details["replicas"]), enabled),
        "model_data": model_data.section(name, details["modelData"]),
    }


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

"""``amlemu describe KIND NAME[:VERSION]``: one resource as the portal's blade shows it,
the last error included (pretty-printed, with its real line breaks)."""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.models_cmd import print_model
from emulator.cli.output import print_fields, print_json, print_section, print_table
from emulator.cli.workspace_arg import add_workspace_options, select_workspace
from emulator.sdk.workspace import Workspace
from emulator.views import resources
from emulator.views.text import pretty_error, show


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "describe", help="everything about one model, image, service or compute target"
    )
    add_workspace_options(parser)
    parser.add_argument(
        "kind", type=resources.kind, metavar="KIND", help=", ".join(resources.KINDS)
    )
    parser.add_argument(
        "name",
        type=resources.name_version,
        metavar="NAME[:VERSION]",
        help="models and images: the latest version unless VERSION is given",
    )
    parser.add_argument(
        "--show-keys", action="store_true", help="services: show the keys instead of masking them"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=describe)


def describe(args: argparse.Namespace) -> int:
    ws = select_workspace(args)
    details = _details(ws, args.kind, args.name, args.show_keys)
    if args.json:
        print_json(details)
    elif args.kind == "models":
        print_model(details)
        print(f"{'versions':18} {', '.join(map(str, details['versions']))}")
    elif args.kind == "images":
        _print_image(details)
    elif args.kind == "services":
        _print_service(details, args.show_keys)
    else:
        _print_compute(details)
    return 0


def _details(
    ws: Workspace, kind: str, wanted: resources.NameVersion, show_keys: bool
) -> dict[str, Any]:
    if kind == "models":
        model = resources.find_model(ws, wanted)
        return {
            **resources.model_details(model),
            "versions": resources.model_versions(ws, model.name),
        }
    if kind == "images":
        return resources.image_details(resources.find_image(ws, wanted))
    resources.no_versions("Services" if kind == "services" else "Compute targets", wanted)
    if kind == "services":
        return resources.service_details(resources.find_service(ws, wanted.name), show_keys)
    return resources.compute_details(resources.find_compute(ws, wanted.name))


def _print_image(d: dict[str, Any]) -> None:
    print_fields(
        [
            ("id", d["id"]),
            ("state", d["creationState"]),
            ("flavor", d["imageFlavor"]),
            ("builder", d["builder"]),
            ("location", d["imageLocation"]),
            ("models", ", ".join(d["modelIds"])),
            ("description", d["description"]),
            ("tags", d["tags"]),
            ("properties", d["properties"]),
            ("created", d["createdTime"]),
            ("build log", d["imageBuildLogUri"]),
            ("dockerfile", d["generatedDockerFileUri"]),
        ]
    )
    if d["error"]:
        print_fields([("failing step", d["failingStep"])])
        print_section("error", pretty_error(d["error"]))
        print(f"The build log shows every step: amlemu build-log {d['id']}")


def _print_service(d: dict[str, Any], show_keys: bool) -> None:
    host = d["hostPid"]
    fields: list[tuple[str, Any]] = [
        ("service id", d["serviceId"]),
        ("state", d["state"]),
        ("compute type", d["computeType"]),
        *_present(("compute target", d.get("computeName")), ("location", d.get("location"))),
        ("image", d["imageId"]),
        ("models", ", ".join(d["modelIds"])),
        ("scoring uri", d["scoringUri"]),
        ("swagger uri", d["swaggerUri"]),
        ("auth", d["authMode"]),
    ]
    if d["authMode"] == "key":
        hint = "" if show_keys else "  (--show-keys reveals it)"
        fields += [
            ("primary key", f"{d['primaryKey']}{hint}"),
            ("secondary key", f"{d['secondaryKey']}{hint}"),
        ]
    fields += [
        ("replicas", d["replicaSettings"]),
        *_present(
            ("autoscaler", d.get("autoScaler")),
            ("resources", d.get("containerResourceRequirements")),
            ("liveness probe", d.get("livenessProbeRequirements")),
            ("scoring timeout ms", d.get("scoringTimeoutMs")),
        ),
        ("description", d["description"]),
        ("tags", d["tags"]),
        ("properties", d["properties"]),
        ("created", d["createdTime"]),
        ("updated", d["updatedTime"]),
        ("operation id", d["operationId"]),
        (
            "hosted by",
            f"pid {host} ({'running' if d['hostAlive'] else 'exited'})" if host else None,
        ),
    ]
    print_fields(fields)
    _print_model_data(d["modelData"])
    replicas = d["replicas"]
    if replicas:
        print("replicas:")
        print_table(
            ("  REPLICA", "CONTAINER", "STATUS", "PID/CONTAINER ID", "LIMITS", "LOG"),
            (
                (
                    f"  {r['replica']}",
                    r["container"],
                    "running" if r["running"] else "exited",
                    show(r["pid"] or (r["id"] or "")[:12]),
                    show(r["limits"]),
                    show(r["log"]),
                )
                for r in replicas
            ),
        )
        details = {r["limits"]: r["limitsDetail"] for r in replicas if r["limits"]}
        for mechanism, detail in sorted(details.items()):
            print(f"  limits {mechanism}: {detail}")
    if d["error"]:
        print_section("error", pretty_error(d["error"]))


def _print_model_data(data: dict[str, Any]) -> None:
    """The service's collected data (ModelDataCollector), as files under Azure's blob paths."""
    if not data["collectModelData"] and not data["files"]:
        return
    state = "on" if data["collectModelData"] else "off (files collected before)"
    print_fields([("model data", f"{state}: {data['folder']}")])
    if data["files"]:
        print_table(
            ("  FILE", "BYTES", "LINES", "MODIFIED"),
            (
                (f"  {f['path']}", str(f["bytes"]), str(f["lines"]), f["modified"])
                for f in data["files"]
            ),
        )


def _print_compute(d: dict[str, Any]) -> None:
    props = d["properties"]
    size = d["vmSize"]
    print_fields(
        [
            ("name", d["name"]),
            ("type", props["computeType"]),
            ("provisioning state", props["provisioningState"]),
            ("location", d["location"]),
            ("vm size", f"{size['name']} ({size['cores']} vCPUs, {size['memoryGB']:g} GB)"),
            ("agent count", d["agentCount"]),
            ("cluster purpose", d["clusterPurpose"]),
            ("cluster fqdn", props.get("properties", {}).get("clusterFqdn")),
            ("resource id", props["resourceId"]),
            ("attached", props["isAttachedCompute"]),
            ("description", props["description"]),
            ("tags", d["tags"]),
            ("created", props["createdOn"]),
            ("modified", props["modifiedOn"]),
        ]
    )
    if props["provisioningErrors"]:
        print_section("provisioning errors", pretty_error(props["provisioningErrors"]))
    if d["nodes"]:
        print("nodes:")
        print_table(
            ("  NAME", "CORES", "MEMORY GB", "ALLOCATABLE", "RESERVED", "PODS"),
            (
                (
                    f"  {n['name']}",
                    str(n["cores"]),
                    f"{n['memoryGB']:g}",
                    f"{n['allocatableCores']:g} cpu / {n['allocatableMemoryGB']:g} GB",
                    f"{n['reservedCores']:g} cpu / {n['reservedMemoryGB']:g} GB",
                    ", ".join(n["pods"]) or "-",
                )
                for n in d["nodes"]
            ),
        )


def _present(*pairs: tuple[str, Any]) -> list[tuple[str, Any]]:
    """The fields a service type has (ACI has no autoscaler, AKS no location, ...)."""
    return [(key, value) for key, value in pairs if value is not None]

"""Service logs in failure reports, and where ``--aml-keep`` left services and logs.

A failing test's traceback rarely says why a scoring script misbehaved; the container log does.
Each service a test deployed gets a report section, like captured stdout, newest lines last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_amlemu.failures import service_logs

SERVICES_KEY = pytest.StashKey[list[Any]]()
KEPT_KEY = pytest.StashKey[list[dict[str, str]]]()
#: Key of the kept services in pytest-xdist's worker output.
WORKER_OUTPUT_KEY = "azureml_emulator_kept"


def track(node: pytest.Item, service: Any) -> None:
    """Remember that ``node`` deployed (or used) ``service``, for its failure report."""
    services = node.stash.setdefault(SERVICES_KEY, [])
    if all(s.name != service.name or s.workspace is not service.workspace for s in services):
        services.append(service)


def add_log_sections(item: pytest.Item, report: pytest.TestReport, num_lines: int) -> None:
    """Append a section with each tracked service's log to a failed ``report``."""
    if not report.failed:
        return
    for service in item.stash.get(SERVICES_KEY, []):
        logs = service_logs(service, num_lines)
        if logs.strip():
            report.sections.append((f"azureml service {service.name} logs", logs))


def keep(config: pytest.Config, services: list[Any], root: Path) -> None:
    """Record services left running by ``--aml-keep`` for the terminal summary."""
    kept = config.stash.setdefault(KEPT_KEY, [])
    for service in services:
        kept.append(
            {
                "name": service.name,
                "type": str(service.compute_type),
                "scoring_uri": str(service.scoring_uri),
                "root": str(root),
            }
        )


def summary_lines(kept: list[dict[str, str]]) -> list[str]:
    """The ``--aml-keep`` terminal summary."""
    lines = [
        f"{len(kept)} service(s) kept; they answer until this pytest process exits, and their "
        "records and logs stay in their roots (container logs under <root>/runtime/logs/):"
    ]
    for entry in kept:
        lines.append(f"  {entry['name']} ({entry['type']}) {entry['scoring_uri']}")
        lines.append(f"    root: {entry['root']}")
    return lines

"""``amlemu ml job show|list|stream|download|cancel``: ``az ml job`` for the jobs batch endpoints
run (a batch job is a pipeline job of one scoring step, as in Azure).

``show`` prints the job as the SDK serializes it (``_to_dict()``: ``status``, ``outputs.score``,
``tags``...); ``list --parent-job-name JOB`` its steps; ``stream`` is the SDK's
``jobs.stream``, whose log lines go to stdout as they arrive (the one verb that prints the SDK's
own output there); ``download`` writes the job's outputs under ``--download-path``
(``--output-name score`` for the scoring output alone, ``--all`` for logs too); ``cancel`` waits
for the cancellation and prints nothing, as ``az ml job cancel`` does.
"""

from __future__ import annotations

import argparse
from typing import Any

from emulator.cli.ml import flags
from emulator.cli.ml.connection import Connection
from emulator.cli.ml.specs import entity_dict


def show(conn: Connection, args: argparse.Namespace) -> Any:
    return job_dict(conn.client.jobs.get(args.name))


def list_(conn: Connection, args: argparse.Namespace) -> Any:
    list_view_type = flags.list_view(args, conn.sdk.ml.constants.ListViewType)
    jobs = conn.client.jobs.list(
        parent_job_name=args.parent_job_name, list_view_type=list_view_type
    )
    listed = [job_dict(job) for job in jobs]
    return listed[: args.max_results] if args.max_results and not args.all_results else listed


def stream(conn: Connection, args: argparse.Namespace) -> Any:
    conn.client.jobs.stream(args.name)
    return None


def download(conn: Connection, args: argparse.Namespace) -> Any:
    conn.client.jobs.download(
        args.name, download_path=args.download_path, output_name=args.output_name, all=args.all
    )
    return None


def cancel(conn: Connection, args: argparse.Namespace) -> Any:
    conn.client.jobs.begin_cancel(args.name).result()
    return None


def job_dict(job: Any) -> dict[str, Any]:
    """A job as ``az ml`` prints it; ``status`` as its word (the SDK's JobStatus enum's value)."""
    data = entity_dict(job)
    status = data.get("status")
    if isinstance(status, str) and status.startswith("JobStatus."):
        data["status"] = str(getattr(job.status, "value", job.status))
    return data

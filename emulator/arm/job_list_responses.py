"""``ml_client.jobs.list()``: the workspace's jobs, the batch endpoints' (model and pipeline
component deployments alike), newest first, a page at a time.

azure-ai-ml 1.35.2 sends ``GET {workspace}/jobs?api-version=2024-01-01-preview&listViewType=
ActiveOnly`` (``list_view_type=ListViewType.ALL`` / ``ARCHIVED_ONLY`` give ``All`` /
``ArchivedOnly``; measured with the real client against this face) and follows ``nextLink``
as given; each item is read by ``Job._from_rest_object`` as ``jobs.get`` reads it. As Azure's
list, it holds the top-level jobs only: a pipeline's step jobs are listed with
``jobs.list(parent_job_name=...)``. No job is archived here (the emulator has no job archive),
so ``ArchivedOnly`` lists none.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from emulator.arm import pipeline_job_responses
from emulator.arm.job_responses import pipeline_job_body
from emulator.arm.responses import WorkspaceRequest
from emulator.endpoints.batch_jobs import BatchJobs
from emulator.exceptions import BadArgument

#: Jobs per page (the rest follows through ``nextLink``).
PAGE_SIZE = 100
_VIEWS = {"activeonly": "ActiveOnly", "archivedonly": "ArchivedOnly", "all": "All"}


def _view(request: Request) -> str:
    given = request.args.get("listViewType") or "ActiveOnly"
    view = _VIEWS.get(given.casefold())
    if view is None:
        raise BadArgument(
            f"listViewType '{given}' is not one of ActiveOnly, ArchivedOnly, All. Pass "
            "list_view_type=ListViewType.ACTIVE_ONLY (the default), ALL or ARCHIVED_ONLY.",
            code="UserError",
        )
    return view


def _skip(request: Request) -> int:
    given = request.args.get("$skip") or "0"
    if not given.isdigit():
        raise BadArgument(
            f"$skip '{given}' is not a page token of this list: follow the nextLink the "
            "previous page gave as it is.",
            code="UserError",
        )
    return int(given)


def list_jobs(req: WorkspaceRequest) -> Any:
    """``jobs.list()``: the workspace's batch jobs as ``jobs.get`` returns them, newest first;
    a ``nextLink`` when more follow."""
    state = req.state
    view, skip = _view(req.request), _skip(req.request)
    if view == "ArchivedOnly":
        return {"value": []}
    records, more = BatchJobs(req.root, state.id).page(skip, PAGE_SIZE)
    value = []
    for job in records:
        body = pipeline_job_responses.job_body(state, job)
        value.append(body if body is not None else pipeline_job_body(state, job))
    answer: dict[str, Any] = {"value": value}
    if more:
        query = {**req.request.args.to_dict(), "listViewType": view, "$skip": skip + len(records)}
        answer["nextLink"] = f"{req.ctx.base_url}{req.request.path}?{urlencode(query, safe='$')}"
    return answer

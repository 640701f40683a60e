"""``wait_for_deployment``: polling a service until its deployment settles, as the SDK polls.

The SDK prints its tips, then the state each time it changes (a live status line on terminals,
:mod:`emulator.sdk.progress`), and raises with Azure's text (operation id, the ``get_logs()``
hint or the image build's log, the error) when the service ends anywhere but ``Healthy``. A
service hosted by this process wakes the poller as soon as a replica settles; one hosted
elsewhere (the daemon) is read from its record, which its host keeps current.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

from emulator.sdk import progress
from emulator.sdk.exceptions import WebserviceException
from emulator.services.records import ServiceState

if TYPE_CHECKING:
    from emulator.sdk.webservice.base import Webservice

#: States a deployment ends in.
TERMINAL = (ServiceState.HEALTHY, ServiceState.FAILED, ServiceState.UNSCHEDULABLE)
POLL_SECONDS = 0.1
TIPS = (
    "Tips: You can try get_logs(): https://aka.ms/debugimage#dockerlog or local deployment: "
    "https://aka.ms/debugimage#debug-locally to debug if deployment takes longer than 10 minutes."
)


def wait_for_deployment(
    service: Webservice, show_output: bool = False, timeout_sec: float | None = None
) -> None:
    """Poll until the deployment settles; raise with Azure's text if it did not succeed."""
    if show_output:
        print(TIPS)
    live = show_output and progress.attached()
    start = time.monotonic()
    last = None
    status_line = (
        progress.StatusLine(f"{service.compute_type} service {service.name}", service.state)
        if live
        else nullcontext()
    )
    with status_line as status:
        while True:
            service.update_deployment_state()
            state = service.emulator_record.state
            if status is not None:
                status.phase(state.value)
            elif show_output and state.value != last:
                sys.stdout.write(f"\n{state.value}\n" if last is not None else state.value)
                sys.stdout.flush()
                last = state.value
            if state in TERMINAL and (service.scoring_uri or state is not ServiceState.HEALTHY):
                break
            if timeout_sec is not None and time.monotonic() - start > timeout_sec:
                raise WebserviceException(
                    f"Deployment polling exceeded timeout override of {timeout_sec}s. "
                    f"Current status: {service.state}\nErrors: {service.error}"
                )
            deployment = service._manager.deployment(service.name)
            if deployment is not None:  # hosted here: wake when a replica settles
                deployment.settle(POLL_SECONDS)
            else:
                time.sleep(POLL_SECONDS)
    if show_output and not live:
        print()
    if service.emulator_record.state is not ServiceState.HEALTHY:
        hint = "More information can be found using '.get_logs()'"
        if service.error and service.error.get("code") == "EnvironmentBuildFailed":
            hint = service.error.get("message", hint)
        raise WebserviceException(
            "Service deployment polling reached non-successful terminal state, current "
            f"service state: {service.state}\nOperation ID: {service.emulator_operation_id}\n"
            f"{hint}\nError:\n{json.dumps(service.error, indent=2)}"
        )
    if show_output:
        label = service._operation_label
        print(f'{label} service creation operation finished, operation "Succeeded"')

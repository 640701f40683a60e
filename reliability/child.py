"""Other emulator processes the runner starts, kills and restarts (``python -m reliability.child``).

- ``host``: deploy service ``phoenix`` (one replica) and print its URI and key as JSON, then
  serve until standard input closes — or until the runner kills the process with SIGKILL;
- ``redeploy``: what a new process finds after that crash (the workspace's inventory and the
  service's state), then the service deployed again from its persisted record (image, replicas,
  limits, keys); prints JSON and serves until standard input closes;
- ``register``: register ``--count`` versions of one model, printing ``OK <version> <sha256>``
  after each commit; the runner kills some of these mid-flight.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reliability.world import CLUSTER, deploy_config, inventory, workspace

PHOENIX = "phoenix"


def _serve_until_stdin_closes(report: dict[str, Any]) -> None:
    print(json.dumps(report), flush=True)
    sys.stdin.read()


def host() -> None:
    from emulator.runtime.labels import session_id
    from emulator.sdk.compute import ComputeTarget
    from emulator.sdk.image import Image
    from emulator.sdk.webservice import Webservice

    ws = workspace()
    image = Image.list(ws)[0]
    service = Webservice.deploy_from_image(
        ws, PHOENIX, image, deploy_config(1, 4), ComputeTarget(ws, CLUSTER), overwrite=True
    )
    service.wait_for_deployment()
    _serve_until_stdin_closes(
        {"uri": service.scoring_uri, "key": service.get_keys()[0], "session": session_id()}
    )


def redeploy() -> None:
    from emulator.sdk.compute import ComputeTarget
    from emulator.sdk.image import Image
    from emulator.sdk.webservice import AksWebservice, Webservice

    ws = workspace()
    found = inventory(ws)
    before: Any = Webservice(ws, PHOENIX)  # an AksWebservice
    state, error = before.state, (before.error or {}).get("message")
    config = AksWebservice.deploy_configuration(
        num_replicas=before.num_replicas,
        autoscale_enabled=bool(before.autoscaler.get("autoscaleEnabled")),
        replica_max_concurrent_requests=before.max_concurrent_requests_per_container,
        max_request_wait_time=before.max_request_wait_time,
        scoring_timeout_ms=before.scoring_timeout_ms,
        primary_key=before.get_keys()[0],
        secondary_key=before.get_keys()[1],
    )
    image = Image(ws, id=before.image_id)
    service = Webservice.deploy_from_image(
        ws, PHOENIX, image, config, ComputeTarget(ws, before.compute_name), overwrite=True
    )
    service.wait_for_deployment()
    _serve_until_stdin_closes(
        {
            "inventory": found,
            "state_after_crash": state,
            "error_after_crash": error,
            "uri": service.scoring_uri,
            "key": service.get_keys()[0],
        }
    )


def register(directory: Path, name: str, count: int) -> None:
    from emulator import Model

    ws = workspace()
    directory.mkdir(parents=True, exist_ok=True)
    os.chdir(directory)
    for index in range(count):
        content = os.urandom(2048) + f"{os.getpid()}-{index}".encode()
        path = Path(f"model-{index}.bin")
        path.write_bytes(content)
        model = Model.register(ws, str(path), name)
        print(f"OK {model.version} {hashlib.sha256(content).hexdigest()}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.child")
    parser.add_argument("mode", choices=["host", "redeploy", "register"])
    parser.add_argument("--directory", type=Path)
    parser.add_argument("--name", default="stress")
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args(argv)
    if args.mode == "host":
        host()
    elif args.mode == "redeploy":
        redeploy()
    else:
        register(args.directory, args.name, args.count)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Memory per service: PSS and RSS of every process of every replica of N echo services.

Builds one echo image (the host builder by default, as ``aml_deploy`` does without an
environment; ``--builder local`` for a cached virtualenv), deploys it ``--services`` times
through the SDK v1 face on the process runtime (``AciWebservice`` or ``LocalWebservice``), waits
for every service to be Healthy and scores each once, then reads ``/proc/<pid>/smaps_rollup`` of
each process of each replica. A replica's processes are found through the runtime's labels: the
server process carries ``AMLEMU_LABEL_SERVICE`` in its environment, and every process below it
(its scoring workers) belongs to it. Labelled processes of this session that serve no service
(a zygote, the session's watchdog) are reported apart as ``session_shared``; their PSS is
spread over the services in ``pss_per_service_with_shared_mib``. ``interpreter_floor_pss_mib`` is
what a bare ``python -c`` of the same interpreter costs, which every process pays.

PSS (proportional set size) counts a page shared by k processes as 1/k in each, so the sum over
processes is what they cost the machine together; RSS counts shared pages in full in each.
Prints JSON.

    python benchmarks/bench_memory.py [--services 20] [--target aci|local] [--builder host|local]
                                      [--warm-start unset|0|1|both]
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
#: What ``AZUREML_EMULATOR_WARM_START`` turns on or off (the zygote's warm starts).
WARM_START_ENV = "AZUREML_EMULATOR_WARM_START"
_SERVICE_LABEL = "AMLEMU_LABEL_SERVICE"
_SESSION_LABEL = "AMLEMU_LABEL_SESSION"
_FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean", "Private_Clean", "Private_Dirty")
_MIB = 1024.0

ECHO = """
import json


def init():
    pass


def run(raw_data):
    return json.loads(raw_data)
"""


def smaps_rollup(pid: int) -> dict[str, int]:
    """The kB fields of ``/proc/<pid>/smaps_rollup`` (Rss, Pss, Private_Dirty, ...)."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[key] = int(parts[0])
    return fields


def _environment(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            raw = environ.read()
    except OSError:
        return {}
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, _, value in pairs}


def _parents() -> dict[int, int]:
    """pid → parent pid, for every process this benchmark can see."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(entry)] = int(text.rpartition(")")[2].split()[1])
    return parents


def session_processes(session: str) -> tuple[dict[str, list[int]], list[int]]:
    """This session's replica processes by service name, and its other labelled processes.

    A process belongs to the service of its nearest ancestor (itself included) whose
    environment names a service; labelled processes with no service are the session's own."""
    parents = _parents()
    labels: dict[int, dict[str, str]] = {}
    for pid in parents:
        environ = _environment(pid)
        if environ.get(_SESSION_LABEL) == session:
            labels[pid] = environ
    services: dict[str, list[int]] = {}
    shared: list[int] = []
    for pid in parents:
        ancestor: int | None = pid
        service = None
        in_session = False
        while ancestor and ancestor in parents and ancestor != os.getpid():
            found = labels.get(ancestor)
            if found is not None:
                in_session = True
                service = found.get(_SERVICE_LABEL)
                if service:
                    break
            ancestor = parents[ancestor]
        if service:
            services.setdefault(service, []).append(pid)
        elif in_session:
            shared.append(pid)
    return services, shared


_FLOOR = (
    "for line in open('/proc/self/smaps_rollup'):\n"
    "    if line.startswith('Pss:'):\n"
    "        print(line.split()[1])"
)


def interpreter_floor_kb() -> int:
    """PSS of a bare ``python -c`` of this interpreter: what every replica process pays before
    importing anything (the interpreter and what its site-packages' .pth files load)."""
    done = subprocess.run(
        [sys.executable, "-c", _FLOOR], capture_output=True, text=True, check=True, timeout=60
    )
    return int(done.stdout)


def _mib(kb: float) -> float:
    return round(kb / _MIB, 2)


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": _mib(min(values)),
        "median": _mib(statistics.median(values)),
        "max": _mib(max(values)),
    }


def measure(session: str, expected: list[str]) -> dict[str, Any]:
    """Sum each service's processes' smaps_rollup; the spread over services, in MiB."""
    # A replica forked from a zygote shows its labels in /proc/<pid>/environ once it rewrote its
    # initial environment; give a process that is still starting a few seconds to appear.
    deadline = time.monotonic() + 10
    while True:
        services, shared = session_processes(session)
        missing = sorted(set(expected) - set(services))
        if not missing:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"no process found for services {missing}: are they Healthy?")
        time.sleep(0.2)
    parents = _parents()
    totals: dict[str, dict[str, int]] = {}
    servers: list[float] = []  # the replica's top process: the HTTP server
    others: list[float] = []  # the processes below it: its scoring workers
    for name in expected:
        total = dict.fromkeys(_FIELDS, 0)
        for pid in services[name]:
            rollup = smaps_rollup(pid)
            for key in _FIELDS:
                total[key] += rollup.get(key, 0)
            top = parents.get(pid) not in services[name]
            (servers if top else others).append(float(rollup.get("Pss", 0)))
        totals[name] = total
    shared_pss = sum(smaps_rollup(pid).get("Pss", 0) for pid in shared)
    pss = [float(totals[name]["Pss"]) for name in expected]
    counts = [len(services[name]) for name in expected]
    return {
        "services": len(expected),
        "processes_per_service": {"min": min(counts), "max": max(counts)},
        "pss_per_service_mib": _spread(pss),
        "rss_per_service_mib": _spread([float(totals[name]["Rss"]) for name in expected]),
        "private_dirty_per_service_mib": _spread(
            [float(totals[name]["Private_Dirty"]) for name in expected]
        ),
        "pss_anon_per_service_mib": _spread([float(totals[name]["Pss_Anon"]) for name in expected]),
        "pss_file_per_service_mib": _spread([float(totals[name]["Pss_File"]) for name in expected]),
        "pss_per_server_process_mib": _spread(servers),
        "pss_per_worker_process_mib": _spread(others) if others else None,
        "session_shared": {"processes": len(shared), "pss_mib": _mib(shared_pss)},
        "pss_per_service_with_shared_mib": _mib((sum(pss) + shared_pss) / len(expected)),
        "pss_all_services_mib": _mib(sum(pss) + shared_pss),
    }


@contextmanager
def _variable(name: str, value: str | None) -> Iterator[None]:
    before = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run_round(count: int, target: str, warm_start: str | None, label: str) -> dict[str, Any]:
    """Deploy ``count`` echo services, measure them, delete them. ACI services share one image
    (``Webservice.deploy_from_image``); local ones are deployed as the SDK requires, with
    ``Model.deploy`` (an image each, from the one cached environment)."""
    from emulator import Model, Workspace
    from emulator.runtime.labels import session_id
    from emulator.sdk.image import ContainerImage, Image
    from emulator.sdk.inference_config import InferenceConfig
    from emulator.sdk.webservice import AciWebservice, LocalWebservice, Webservice

    with _variable(WARM_START_ENV, warm_start):
        ws = Workspace.create(f"mem-{label}", subscription_id="s", resource_group="rg")
        build_s = None
        if target == "aci":
            started = time.perf_counter()
            image = Image.create(
                ws, "echo", [], ContainerImage.image_configuration("echo.py", "python")
            )
            image.wait_for_creation()
            build_s = round(time.perf_counter() - started, 3)
        names = [f"echo-{label}-{n}" for n in range(count)]
        started = time.perf_counter()
        services = []
        for name in names:
            if target == "local":
                local = LocalWebservice.deploy_configuration()
                services.append(Model.deploy(ws, name, [], InferenceConfig("echo.py"), local))
            else:
                aci = AciWebservice.deploy_configuration(cpu_cores=0.1, memory_gb=0.5)
                services.append(Webservice.deploy_from_image(ws, name, image, aci))
        for service in services:
            service.wait_for_deployment()
            if service.state.lower() not in ("healthy", "running"):
                raise SystemExit(f"{service.name} is {service.state}: {service.get_logs()}")
            assert service.run(json.dumps({"ping": service.name})) == {"ping": service.name}
        deploy_s = time.perf_counter() - started
        report = measure(session_id(), names)
        for service in services:
            service.delete()
    return {
        "warm_start": warm_start if warm_start is not None else "unset",
        "image_build_s": build_s,
        "deploy_all_to_healthy_s": round(deploy_s, 3),
        **report,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--target", choices=("aci", "local"), default="aci")
    parser.add_argument("--builder", choices=("host", "local"), default="host")
    parser.add_argument("--warm-start", choices=("unset", "0", "1", "both"), default="unset")
    args = parser.parse_args()
    if args.services < 1:
        parser.error("--services must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="amlemu-bench-memory-"))
    # Removed last at exit (atexit runs in reverse): after the emulator's own exit handlers
    # have stopped the replicas and zygotes whose records and logs are in it.
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    os.chdir(workdir)
    (workdir / "echo.py").write_text(ECHO)
    os.environ["AZUREML_EMULATOR_ROOT"] = str(workdir / "root")
    os.environ["AZUREML_EMULATOR_BUILDER"] = args.builder
    os.environ["AZUREML_EMULATOR_RUNTIME"] = "process"
    sys.path.insert(0, str(REPO))

    import emulator

    rounds_of: dict[str, list[str | None]] = {"unset": [None], "both": ["0", "1"]}
    settings = rounds_of.get(args.warm_start, [args.warm_start])
    load_before = os.getloadavg()
    rounds = []
    # The SDK's progress lines go to stderr: stdout is the JSON report only.
    with emulator.mock_aml(), redirect_stdout(sys.stderr):
        for number, setting in enumerate(settings):
            rounds.append(run_round(args.services, args.target, setting, f"r{number}"))
    print(
        json.dumps(
            {
                "benchmark": "memory_per_service",
                "runtime": "process",
                "builder": args.builder,
                "target": args.target,
                "goal_pss_per_service_mib": 25,
                "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
                "interpreter_floor_pss_mib": _mib(interpreter_floor_kb()),
                "rounds": rounds,
            }
        )
    )


if __name__ == "__main__":
    main()

"""The model registry under faults: registrations from many processes, some killed mid-flight.

Half of the processes register until they are killed (at a random moment once they have
committed one version), the others a fixed number. Afterwards the versions of the model must
be exactly 1..N (no duplicate, no gap: a killed
registration either committed or left nothing), every version a process reported committed
must be there with its content, and every file must read back with its recorded checksum.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from emulator import Model
from reliability.scenarios import REPO
from reliability.world import workspace

NAME = "stress"


def registry_under_kills(
    workdir: Path, processes: int, count: int, seed: int = 0
) -> dict[str, Any]:
    chooser = random.Random(seed)

    def start(index: int, count: int) -> subprocess.Popen[str]:
        directory = workdir / f"registrar-{index}"
        command = [sys.executable, "-m", "reliability.child", "register", "--name", NAME]
        command += ["--directory", str(directory), "--count", str(count)]
        return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)

    # The doomed register without end until killed; the others register ``count`` each.
    doomed_indexes = set(chooser.sample(range(processes), processes // 2))
    children = [
        start(index, 100_000 if index in doomed_indexes else count) for index in range(processes)
    ]
    doomed = [children[index] for index in sorted(doomed_indexes)]
    lines: dict[subprocess.Popen[str], list[str]] = {child: [] for child in children}
    first = {child: threading.Event() for child in children}

    def read(child: subprocess.Popen[str]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines[child].append(line)
            if line.startswith("OK "):
                first[child].set()

    readers = [threading.Thread(target=read, args=(child,)) for child in children]
    for reader in readers:
        reader.start()
    for child in doomed:  # once it committed a version, at a random point of a later one
        first[child].wait(60)
        time.sleep(chooser.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
    for child in children:
        child.wait(120)
    for reader in readers:
        reader.join(10)
    reported: dict[int, str] = {}
    duplicates_reported = 0
    for output in lines.values():
        for line in output:
            if line.startswith("OK "):
                _, version, digest = line.split()
                duplicates_reported += int(version) in reported
                reported[int(version)] = digest
    failed = [c.returncode for c in children if c not in doomed and c.returncode != 0]

    ws = workspace()
    models = Model.list(ws, name=NAME)
    versions = sorted(model.version for model in models)
    duplicates = len(versions) - len(set(versions)) + duplicates_reported
    missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
    missing += sorted(set(reported) - set(versions))
    corrupt = 0
    with tempfile.TemporaryDirectory() as scratch:
        for model in models:
            target = Path(scratch) / str(model.version)
            path = Path(model.download(target_dir=str(target)))
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
            recorded = {f.digest for f in model.emulator_record.files}
            expected = reported.get(model.version)
            corrupt += digests != recorded or (expected is not None and expected not in digests)
    return {
        "processes": processes,
        "killed": len(doomed),
        "reported_registrations": len(reported),
        "versions": len(versions),
        "committed_unreported": len(set(versions) - set(reported)),  # killed right after commit
        "duplicates": duplicates,
        "missing": len(missing),
        "corrupt": corrupt,
        "survivor_failures": len(failed),
        "ok": duplicates == 0 and not missing and corrupt == 0 and not failed and versions != [],
    }

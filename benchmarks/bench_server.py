"""Throughput and latency of the emulator's scoring server next to the real azmlinfsrv.

Both serve ``fixtures/scoring/server/score_probe.py`` (the iris LogisticRegression, two rows per
request) with their defaults (one worker); a load generator in its own process keeps
``--concurrency`` connections busy for ``--seconds`` each and prints JSON: requests/s and
p50/p99 latency per server. azmlinfsrv runs from a scratch virtualenv (created on first use,
with this interpreter's scikit-learn version so the model pickle loads in both).

    python benchmarks/bench_server.py [--concurrency 8] [--seconds 10] [--venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

from loadgen import measure

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "fixtures" / "scoring" / "server" / "score_probe.py"
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'
INFSRV = "azureml-inference-server-http==1.5.1"


def ensure_venv(venv: Path) -> Path:
    """The scratch virtualenv with azmlinfsrv; created (a few minutes) when missing."""
    server = venv / "bin" / "azmlinfsrv"
    if not server.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = [INFSRV, f"scikit-learn=={version('scikit-learn')}", "joblib", "numpy"]
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_app(root: Path) -> Path:
    """An app root with the iris model at azureml-models/sklearn-iris/1/model.pkl."""
    sys.path.insert(0, str(REPO / "fixtures" / "models"))
    from build_iris import build

    model_dir = root / "azureml-models" / "sklearn-iris" / "1"
    build(model_dir / "model.pkl")
    return model_dir


def wait_ready(port: int, process: subprocess.Popen[bytes], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def run_one(
    command: list[str], port: int, env: dict[str, str], cwd: Path, args: argparse.Namespace
) -> dict[str, float]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        try:
            wait_ready(port, process)
            return measure(port, args.concurrency, args.seconds, BODY)
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "infsrv-venv")
    args = parser.parse_args()
    azmlinfsrv = ensure_venv(args.venv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model_dir = build_app(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")}
        flags = ["--entry_script", str(SCRIPT), "--model_dir", str(model_dir)]
        real_port, our_port = free_port(), free_port()
        real = run_one(
            [str(azmlinfsrv), *flags, "--port", str(real_port)], real_port, env, root, args
        )
        ours = run_one(
            [sys.executable, "-m", "emulator.server", *flags, "--port", str(our_port)],
            our_port,
            env,
            root,
            args,
        )
    print(
        json.dumps(
            {
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "cpus": os.cpu_count(),
                "azmlinfsrv": real,
                "amlemu": ours,
                "throughput_ratio": round(ours["requests_per_s"] / real["requests_per_s"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

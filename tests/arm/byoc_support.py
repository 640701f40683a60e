"""A custom container for the bring-your-own-container tests: a stdlib HTTP server on the local
base image, with routes of its own (``/alive``, ``/ready``, ``POST /predict``) on the port named
by ``BYOC_PORT`` (a variable of the deployment: each test gives its own free port, so parallel
runs never clash on the host's network). ``READY_STATUS`` is what ``/ready`` answers; ``/alive``
answers 200 until ``/predict`` is sent the JSON string ``"fail liveness"``, then 500.
``/predict`` echoes what it got and what the container sees: ``AZUREML_MODEL_DIR`` and the
model's files under it, ``AML_APP_ROOT`` and the entry script there, and the ``GREETING``
variable. Every request is logged with its User-Agent (the probes say ``kube-probe``)."""

from __future__ import annotations

import io
import socket
import tarfile
import uuid
from typing import Any

BASE_IMAGE = "amlemu/python-base:bookworm"

SERVER = r"""
import json
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY = int(os.environ.get("READY_STATUS", "200"))
ALIVE = 200


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/alive":
            self.answer(ALIVE, {"alive": ALIVE == 200})
        elif self.path == "/ready":
            self.answer(READY, {"ready": READY == 200})
        else:
            self.answer(404, {"error": "no route " + self.path})

    def do_POST(self):
        global ALIVE
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] != "/predict":
            return self.answer(404, {"error": "no route " + self.path})
        if json.loads(body or b"null") == "fail liveness":
            ALIVE = 500
        model_dir = os.environ.get("AZUREML_MODEL_DIR", "")
        files = {}
        if model_dir:
            root = pathlib.Path(model_dir)
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    files[path.relative_to(root).as_posix()] = path.read_text()
        app_root = os.environ.get("AML_APP_ROOT", "/")
        script = pathlib.Path(app_root, os.environ.get("AZUREML_ENTRY_SCRIPT", "-"))
        self.answer(200, {
            "path": self.path,
            "app_root": os.environ.get("AML_APP_ROOT"),
            "entry_script": script.read_text() if script.is_file() else None,
            "input": json.loads(body or b"null"),
            "model_dir": model_dir,
            "model_files": files,
            "greeting": os.environ.get("GREETING"),
        })

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        print(self.command, self.path, self.headers.get("User-Agent"), flush=True)


port = int(os.environ["BYOC_PORT"])
print("custom server listening on", port, flush=True)
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

DOCKERFILE = f"""FROM {BASE_IMAGE}
COPY server.py /srv/server.py
CMD ["python3", "/srv/server.py"]
"""


def build_image(engine: Any) -> str:
    """Build the image in the local engine (no network needed); returns its tag."""
    tag = f"amlemu-test-byoc-{uuid.uuid4().hex[:10]}:1"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in (("Dockerfile", DOCKERFILE), ("server.py", SERVER)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    engine.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True, network_mode="none")
    return tag


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

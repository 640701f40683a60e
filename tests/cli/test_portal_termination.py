"""``amlemu portal`` ended by SIGTERM, SIGHUP or SIGKILL takes the services it deployed with it.

The portal hosts what its deploy form deploys. Each test deploys a service through the form
(the request a browser sends), signals the portal, and checks that no process of its session
is left, that the endpoint is gone and that the service's record says why it stopped.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from host_termination import answers, session_leftovers

from emulator import Model, Webservice, Workspace
from emulator.runtime.backends.process import process_environment, processes_with_env
from emulator.runtime.labels import SERVICE, SESSION, env_name

pytestmark = pytest.mark.slow

REASONS: dict[int, str] = {
    signal.SIGTERM: "received SIGTERM",
    signal.SIGHUP: "received SIGHUP",
    signal.SIGKILL: "died without stopping its services",
}
SERVICE_NAME = "portal-svc"


def _deploy_through_the_form(url: str, model_id: str) -> None:
    token = "t" * 32
    form = urllib.parse.urlencode(
        {
            "csrf_token": token,
            "name": SERVICE_NAME,
            "source": "model",
            "models": model_id,
            "entry_script": "score.py",
            "target": "aci",
        }
    ).encode()
    request = urllib.request.Request(
        f"{url}deploy",
        data=form,
        headers={"Origin": url.rstrip("/"), "Cookie": f"amlemu_csrf={token}"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request, timeout=60).close()
    except urllib.error.HTTPError as exc:
        assert exc.code == 303, exc.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _healthy(ws: Workspace, url: str) -> Webservice:
    """The service once healthy: its state is read by the portal, which hosts it."""
    deadline = time.monotonic() + 60
    while True:
        urllib.request.urlopen(f"{url}services/{SERVICE_NAME}", timeout=30).close()
        service = Webservice(ws, SERVICE_NAME)
        if service.state == "Healthy" or time.monotonic() > deadline:
            return service
        time.sleep(0.2)


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["sigterm", "sighup", "sigkill"]
)
def test_a_signal_to_the_portal_stops_its_services_and_the_record_says_why(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    root = workdir / "root"
    monkeypatch.setenv("AZUREML_EMULATOR_ROOT", str(root))
    monkeypatch.setenv("AZUREML_EMULATOR_BUILDER", "host")
    monkeypatch.delenv("AZUREML_EMULATOR_RUNTIME", raising=False)
    ws = Workspace.create("portal-ws", subscription_id="sub", resource_group="rg")
    (workdir / "model.txt").write_text("weights")
    model = Model.register(ws, "model.txt", "m")
    (workdir / "score.py").write_text("def init():\n    pass\n\n\ndef run(raw):\n    return raw\n")
    portal = subprocess.Popen(
        [sys.executable, "-m", "emulator", "portal", "--port", "0"],
        cwd=workdir,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    session = ""
    try:
        assert portal.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", portal.stdout.readline())
        assert match, portal.stdout.read()
        _deploy_through_the_form(match.group(1), model.id)
        service = _healthy(ws, match.group(1))
        assert service.state == "Healthy", service.error
        replicas = processes_with_env(env_name(SERVICE), SERVICE_NAME)
        assert replicas
        session = (process_environment(replicas[0]) or {})[env_name(SESSION)]
        port = urllib.parse.urlsplit(service.scoring_uri).port
        assert port is not None and answers(port)

        portal.send_signal(signum)
        output, _ = portal.communicate(timeout=60)
        assert portal.returncode == (-signum if signum == signal.SIGKILL else 128 + signum), output
        deadline = time.monotonic() + 20
        while session_leftovers(session) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert session_leftovers(session) == []
        assert not answers(port)
        stopped = Webservice(ws, SERVICE_NAME)
        assert stopped.state == "Failed"
        assert stopped.error is not None
        expected = f"stopped: the host process (pid {portal.pid}) {REASONS[signum]}"
        assert stopped.error["message"].startswith(expected)
    finally:
        if portal.poll() is None:
            portal.kill()
            portal.communicate()
        for pid in session_leftovers(session) if session else []:
            os.kill(pid, signal.SIGKILL)

"""``amlemu portal`` in a process of its own shows what ``amlemu up`` hosts for SDK v2: an
endpoint made by a client script that has exited, its scoring URI on the daemon's port and its
deployment's log, over HTTP and, in headless Chromium, by clicking through the blades."""

from __future__ import annotations

import html
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from browser_support import CHROMIUM, playwright_api

pytestmark = pytest.mark.slow

#: A user's deployment script (the real azure-ai-ml, configured by ``amlemu env`` only).
CLIENT = """
import sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from azure.ai.ml import MLClient
from azure.ai.ml.entities import (
    CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model,
)
from azure.identity import DefaultAzureCredential

work = Path(sys.argv[1])
(work / "weights.txt").write_text("1")
(work / "src").mkdir()
(work / "src" / "score.py").write_text(
    "def init():\\n    print('daemon replica ready')\\n\\ndef run(raw):\\n    return raw\\n"
)
client = MLClient(DefaultAzureCredential(), "sub", "rg", "ws")
client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="kept")).result()
client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
    name="blue", endpoint_name="kept", model=Model(path=str(work / "weights.txt")),
    code_configuration=CodeConfiguration(code=str(work / "src"), scoring_script="score.py"),
    environment=Environment(image="mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu"),
    instance_type="Standard_F2s_v2", instance_count=1,
)).result()
endpoint = client.online_endpoints.get("kept")
endpoint.traffic = {"blue": 100}
client.online_endpoints.begin_create_or_update(endpoint).result()
print("\\nscoring_uri", client.online_endpoints.get("kept").scoring_uri)
"""
CLEAN = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZUREML_CURRENT_CLOUD")


@dataclass(frozen=True)
class Hosted:
    portal: str
    scoring_uri: str


def _command(root: Path) -> list[str]:
    return [sys.executable, "-m", "emulator", "--root", str(root)]


def _amlemu(root: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*_command(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    """A daemon hosting endpoint ``kept`` (made by a script that exited) and the portal."""
    root = tmp_path_factory.mktemp("daemon-portal") / "root"
    work = tmp_path_factory.mktemp("daemon-portal-work")
    env = {k: v for k, v in os.environ.items() if k not in CLEAN and k != "AZUREML_EMULATOR_ROOT"}
    env["AZUREML_EMULATOR_BUILDER"] = "host"  # replicas run on this interpreter: no installs
    _amlemu(root, env, "up", "--detach")
    try:
        client_env = dict(env)
        for line in _amlemu(root, env, "env").splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            client_env[name] = shlex.split(value)[0]
        made = subprocess.run(
            [sys.executable, "-c", CLIENT, str(work)],
            env=client_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        found = re.search(r"^scoring_uri (\S+)$", made.stdout, re.MULTILINE)
        assert found is not None, made.stdout
        scoring_uri = found.group(1)
        portal = subprocess.Popen(
            [*_command(root), "portal", "-w", "ws", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert portal.stdout is not None
        line = portal.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        try:
            assert match, f"the portal did not start: {line!r}"
            yield Hosted(match.group(0), scoring_uri)
        finally:
            portal.send_signal(signal.SIGINT)
            portal.wait(timeout=30)
    finally:
        _amlemu(root, env, "down")


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return html.unescape(answer.read().decode())


def test_the_portal_shows_the_daemons_endpoint_its_scoring_uri_and_log(hosted: Hosted) -> None:
    listing = _page(hosted.portal + "services")
    kept = listing.split('id="endpoint-kept"')[1].split("</tr>")[0]
    assert hosted.scoring_uri in kept and "blue=100" in kept
    assert "Standard_F2s_v2 × 1" in kept  # noqa: RUF001 (the page's multiplication sign)
    page = _page(hosted.portal + "endpoints/kept/deployments/blue")
    assert "Succeeded" in page and "daemon replica ready" in page  # the daemon's replica's log
    assert " · running · pid " in page


@pytest.fixture(scope="module")
def playwright(request: pytest.FixtureRequest) -> ModuleType:
    return playwright_api(request)


@pytest.mark.browser
def test_click_from_the_services_to_the_deployments_log(
    hosted: Hosted, playwright: ModuleType, tmp_path: Path
) -> None:
    api = playwright
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(hosted.portal + "services")
        page.click("#endpoint-kept >> text=kept")
        api.expect(page.locator("#scoring-uri")).to_have_text(hosted.scoring_uri)
        api.expect(page.locator("#traffic")).to_contain_text("blue=100")
        page.click("#deployment-blue >> text=blue")
        api.expect(page.locator("#state")).to_have_text("Succeeded")
        api.expect(page.locator("pre.log").first).to_contain_text("daemon replica ready")
        page.screenshot(path=str(tmp_path / "online-deployment.png"), full_page=True)
        browser.close()

"""The portal in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright clicks through every blade against ``amlemu portal`` running in its own process,
deploys a model through the form and calls it from the try-it panel.

Screenshots go to the test's tmp dir; with ``AMLEMU_UPDATE_SCREENSHOT=1`` the deployed
service's page is also saved as ``docs/portal.png`` (the README's screenshot).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from browser_support import CHROMIUM, playwright_api
from portal_world import MODEL, REPO, World

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def playwright(request: pytest.FixtureRequest) -> ModuleType:
    return playwright_api(request)


@pytest.fixture(scope="module")
def portal_url(world: World) -> Iterator[str]:
    """``amlemu portal --port 0`` on the world's root, in its own process."""
    env = {
        **os.environ,
        "AZUREML_EMULATOR_ROOT": str(world.root),
        "AZUREML_EMULATOR_BUILDER": "host",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "portal", "--port", "0", "-w", "portal-ws"],
        cwd=world.workdir,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, f"the portal did not start: {line!r}"
    try:
        yield match.group(0)
    finally:
        process.send_signal(signal.SIGINT)  # stops the form's service with the portal
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_click_through_the_portal_and_deploy_from_the_form(
    world: World, portal_url: str, tmp_path: Path, playwright: ModuleType
) -> None:
    api = playwright
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def shot(name: str) -> None:
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)

        page.goto(portal_url + "models")
        api.expect(page.locator("main")).to_contain_text(MODEL)
        shot("models")

        page.click("nav >> text=Images")
        page.click("text=gpu-img:1")
        api.expect(page.locator("#build-log .failing").first).to_be_visible()
        failed = page.locator("#build-log .failing", has_text="FAILED step")
        api.expect(failed).to_be_visible()
        shot("image-failed")

        page.click("nav >> text=Compute")
        api.expect(page.locator("#compute-aks-quota")).to_contain_text("quota")
        shot("compute")

        page.click("nav >> text=Deployments")
        page.click("text=echo-aks")
        api.expect(page.locator("#scoring-uri")).to_have_text(world.service.scoring_uri)
        # echo-aks is hosted by this test process, not the portal's: a request made here shows
        # up on the open page (live.js polls), in the latency chart and the replica's log.
        log = page.locator("pre.log").first
        api.expect(log).not_to_contain_text("POST /score")
        world.service.run('{"from": "elsewhere"}')
        latency = page.locator("#charts svg[aria-label='Mean latency (ms)'] polyline")
        api.expect(latency).to_have_count(1, timeout=15_000)
        api.expect(log).to_contain_text("POST /score", timeout=15_000)
        primary, _ = world.service.get_keys()
        page.click("text=Reveal keys")
        api.expect(page.locator("#keys")).to_contain_text(primary)
        page.fill("#try-it textarea", '{"from": "browser"}')
        page.click("#try-it button")
        api.expect(page.locator("#try-result")).to_contain_text("Status 200")
        shot("service-aks")

        page.click("nav a[href='/deploy']")
        page.fill("input[name=name]", "Bad Name!")
        page.check("input[value=model]")
        page.select_option("select[name=models]", world.model.id)
        page.fill("input[name=entry_script]", "score_echo.py")
        page.fill("input[name=source_directory]", str(world.workdir))
        page.click("#deploy-form button")
        api.expect(page.locator("#error-form")).to_be_visible()  # the SDK's name check
        shot("deploy-error")
        page.fill("input[name=name]", "form-svc")
        page.click("#deploy-form button")
        page.wait_for_url("**/services/form-svc")
        api.expect(page.locator("#state")).to_have_text("Healthy", timeout=60_000)
        for _ in range(3):
            page.click("#try-it button")
            api.expect(page.locator("#try-result")).to_contain_text("Status 200")
        page.wait_for_timeout(1500)
        page.goto(portal_url + "services/form-svc")
        api.expect(page.locator("svg.chart").first).to_be_visible()
        shot("service-form")
        if os.environ.get("AMLEMU_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(REPO / "docs" / "portal.png"), full_page=True)
        browser.close()

"""The portal's pages, the try-it panel, the deploy form and its CSRF guard, in-process with
werkzeug's test client against the shared world (services hosted by this test process; see
``test_live.py`` for services hosted by another)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from portal_world import MODEL, World
from werkzeug.test import Client, TestResponse

from emulator import AciWebservice, AksWebservice, Webservice
from emulator.portal import csrf
from emulator.portal.app import PortalApp
from emulator.runtime.limits import cgroup_bases, describe_mechanism

ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
def client(world: World) -> Client:
    return Client(PortalApp(world.workspace))


def token(client: Client) -> str:
    client.get("/models")
    cookie = client.get_cookie(csrf.COOKIE)
    assert cookie is not None
    return cookie.value


def post(client: Client, path: str, **form: str | list[str]) -> TestResponse:
    return client.post(path, data={csrf.FIELD: token(client), **form}, headers=ORIGIN)


def test_models_page_lists_versions_tags_and_properties(client: Client) -> None:
    page = client.get("/models").text
    assert MODEL in page and "area=portal" in page and "stage=test" in page
    assert "model.pkl" in page


def test_images_page_shows_states_and_the_failing_step_highlighted(
    client: Client, world: World
) -> None:
    listing = client.get("/images").text
    assert "echo-img:1" in listing and "gpu-img:1" in listing and "Failed" in listing
    page = client.get(f"/images/{world.failed_image.id}").text
    step = world.failed_image.error["step"]
    assert f'Failing step</dt><dd class="error">{step}' in page
    failing = re.findall(r'<span class="failing">([^<]*)</span>', page)
    assert any(f"Step: {step}" in line for line in failing)
    assert any("cudatoolkit" in line for line in failing)


def test_compute_page_shows_the_quota_error_and_the_nodes(client: Client) -> None:
    page = client.get("/compute").text
    quota = page.split('id="compute-aks-quota"')[1].split("</section>")[0]
    assert "Failed" in quota and "quota" in quota.lower()
    healthy = page.split('id="compute-aks-dev"')[1].split("</section>")[0]
    assert "Succeeded" in healthy and "echo-aks" in healthy  # its pod on the node


def test_service_page_shows_the_deployments_blade(client: Client, world: World) -> None:
    assert "echo-aks" in client.get("/services").text
    page = client.get("/services/echo-aks").text
    service = world.service
    assert service.scoring_uri in page and service.swagger_uri in page
    assert "Healthy" in page and "autoscale 1-2" in page
    primary, _ = service.get_keys()
    assert primary not in page  # masked until revealed
    assert "portal-model:1" in page and "echo-img:1" in page
    assert "Replica 0 log" in page or "Replica 1 log" in page
    mechanism = cgroup_bases()[0] or "rlimit"  # which one enforces the replicas' memory_gb
    assert f'<span title="{describe_mechanism(mechanism)}">limits: {mechanism}</span>' in page
    assert "Requests per second by status" in page
    scale = page.split('aria-label="Replicas over time"')[1].split("</svg>")[0]
    assert "<polyline" in scale


def test_keys_are_revealed_only_by_a_post_with_the_token(client: Client, world: World) -> None:
    primary, _ = world.service.get_keys()
    assert primary in post(client, "/services/echo-aks/keys").text


def test_try_it_posts_to_the_scoring_uri_with_the_key(client: Client) -> None:
    client.get("/services/echo-aks")  # the first metrics sample
    time.sleep(0.15)  # page views sample at most every tenth of a second
    page = post(client, "/services/echo-aks/try", body='{"ping": 1}').text
    assert "Status <strong>200</strong>" in page
    assert "ping" in page.split('id="try-result"')[1]
    chart = page.split("<h2>Charts</h2>")[1].split("<h2>")[0]
    assert "<svg" in chart and ">200</text>" in chart  # the request shows in the live chart
    latency = chart.split('aria-label="Mean latency (ms)"')[1].split("</svg>")[0]
    assert "<polyline" in latency


def test_cross_site_posts_are_refused(client: Client, world: World) -> None:
    primary, _ = world.service.get_keys()
    good = token(client)
    forged = client.post("/services/echo-aks/keys", data={csrf.FIELD: "guess"}, headers=ORIGIN)
    assert forged.status_code == 403 and "CSRF token" in forged.text
    foreign = client.post(
        "/services/echo-aks/keys",
        data={csrf.FIELD: good},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403 and "Origin" in foreign.text
    no_origin = client.post("/services/echo-aks/keys", data={csrf.FIELD: good})
    assert no_origin.status_code == 403
    assert primary not in forged.text + foreign.text + no_origin.text


def test_foreign_host_names_are_refused(client: Client) -> None:
    answer = client.get("/services", headers={"Host": "rebound.example:8765"})
    assert answer.status_code == 421 and "127.0.0.1" in answer.text


def test_deploy_form_shows_field_and_sdk_errors(client: Client, world: World) -> None:
    bad = post(client, "/deploy", name="", source="image", image="", cpu_cores="lots")
    assert bad.status_code == 400
    assert 'id="error-name"' in bad.text and 'id="error-cpu_cores"' in bad.text
    assert 'id="error-image"' in bad.text
    failed = post(client, "/deploy", name="gpu-svc", source="image", image=world.failed_image.id)
    assert failed.status_code == 400
    assert "non &#34;Succeeded&#34; creation state" in failed.text


@pytest.fixture
def deployed(world: World) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        Webservice(world.workspace, name).delete()


def test_deploy_form_deploys_models_and_lands_on_the_service(
    client: Client, world: World, deployed: list[str]
) -> None:
    deployed.append("form-svc")
    answer = post(
        client,
        "/deploy",
        name="form-svc",
        source="model",
        models=[world.model.id],
        entry_script="score_echo.py",
        source_directory=str(world.workdir),
        target="aci",
        cpu_cores="0.1",
        memory_gb="0.2",
    )
    assert answer.status_code == 303 and answer.location.endswith("/services/form-svc")
    Webservice(world.workspace, "form-svc").wait_for_deployment()
    page = post(client, "/services/form-svc/try", body='{"x": 1}').text
    assert "Status <strong>200</strong>" in page


def test_try_it_sends_a_fresh_token_to_a_token_auth_service(
    client: Client, world: World, deployed: list[str]
) -> None:
    config = AksWebservice.deploy_configuration(
        auth_enabled=False, token_auth_enabled=True, cpu_cores=0.1, memory_gb=0.2
    )
    deployed.append("echo-token")
    service = Webservice.deploy_from_image(
        world.workspace, "echo-token", world.image, config, world.cluster
    )
    service.wait_for_deployment()
    page = post(client, "/services/echo-token/try", body='{"t": 1}').text
    assert "with a fresh token" in page
    assert "Status <strong>200</strong>" in page


def test_a_service_whose_gateway_does_not_answer_has_no_charts(
    client: Client, world: World, deployed: list[str]
) -> None:
    deployed.append("quiet")
    service = Webservice.deploy_from_image(
        world.workspace, "quiet", world.image, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    service._manager.deployment("quiet").gateway.stop()  # as if its host had hung up
    page = client.get("/services/quiet").text
    assert "No counters yet: the gateway of this service does not answer" in page
    assert "<svg" not in page.split("<h2>Charts</h2>")[1].split("<h2>")[0]


def test_service_page_lists_the_recorded_application_insights_items(
    client: Client, world: World, deployed: list[str]
) -> None:
    deployed.append("echo-ai")
    config = AciWebservice.deploy_configuration(enable_app_insights=True)
    service = Webservice.deploy_from_image(world.workspace, "echo-ai", world.image, config)
    service.wait_for_deployment()
    service.run('{"seen": 1}')
    section = client.get("/services/echo-ai").text.split("<h2>Application Insights</h2>")[1]
    rows = re.findall(r'<tr class="telemetry request">(.*?)</tr>', section.split("<h2>")[0])
    assert len(rows) >= 1 and all("POST /score" in row for row in rows)
    assert "<td>200</td>" in rows[0] and "seen" in rows[0]  # the response value, unfolded
    # the live refresh carries the same section (the page swaps it in)
    live = client.get("/services/echo-ai/live").json
    assert live is not None and '<tr class="telemetry request">' in live["telemetry"]
    # the echo-aks service has it off, and says how to turn it on
    other = client.get("/services/echo-aks").text.split("<h2>Application Insights</h2>")[1]
    assert "Application Insights is off for this service" in other.split("<h2>")[0]
    assert "enable_app_insights=True" in other.split("<h2>")[0]


def test_the_live_route_returns_state_charts_and_log_tails(client: Client, world: World) -> None:
    client.get("/services/echo-aks")
    time.sleep(0.15)
    world.service.run('{"live": 1}')
    live = client.get("/services/echo-aks/live").json
    assert live is not None and live["state"] == "Healthy"
    assert 'aria-label="Mean latency (ms)"' in live["charts"]
    assert any('"POST /score HTTP/1.1" 200' in text for _, text in live["logs"])


def test_unknown_resources_are_404_with_the_sdk_message(client: Client) -> None:
    answer = client.get("/services/nope")
    assert answer.status_code == 404 and "nope" in answer.text

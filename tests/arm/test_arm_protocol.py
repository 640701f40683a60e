"""The ARM face's protocol rules, over HTTPS: bearer tokens, ARM-shaped errors, api-versions,
the cloud metadata, the managed-identity endpoint and workspaces created on first use."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from emulator.arm import deployment_responses, urls
from emulator.arm.asset_responses import BadRequest, container_archived
from emulator.arm.responses import ArmContext, WorkspaceRequest
from emulator.daemon.server import EmulatorServer
from emulator.settings import STRICT_ENV
from emulator.store.root import EmulatorRoot
from emulator.store.workspaces import WorkspaceStore

WORKSPACE = (
    "/subscriptions/sub-1/resourceGroups/rg-1/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-1"
)
BEARER = {"Authorization": "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig"}


def get(server: EmulatorServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(server.base_url + path, verify=str(server.ca.ca_cert), timeout=30, **kwargs)  # type: ignore[arg-type]


def test_a_request_without_a_bearer_token_gets_arms_401(arm_server: EmulatorServer) -> None:
    response = get(arm_server, WORKSPACE + "?api-version=2024-10-01-preview")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "AuthenticationFailed",
            "message": "Authentication failed. The 'Authorization' header is missing.",
        }
    }


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "token"])
def test_a_malformed_authorization_header_gets_arms_401(
    arm_server: EmulatorServer, header: str
) -> None:
    response = get(arm_server, WORKSPACE + "?api-version=1", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert "invalid format" in response.json()["error"]["message"]


def test_an_unknown_route_answers_an_arm_shaped_404_naming_it(arm_server: EmulatorServer) -> None:
    path = WORKSPACE + "/nonsenseThings/x"
    response = get(arm_server, path + "?api-version=2099-01-01", headers=BEARER)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(response.json()) == {"error"} and set(error) == {"code", "message"}
    assert error["code"] == "InvalidResourceType"
    assert path in error["message"] and "2099-01-01" in error["message"]


def test_an_unknown_route_needs_a_token_first(arm_server: EmulatorServer) -> None:
    assert get(arm_server, "/no/such/thing").status_code == 401


def test_a_known_route_without_api_version_is_refused_as_arm_does(
    arm_server: EmulatorServer,
) -> None:
    response = get(arm_server, WORKSPACE, headers=BEARER)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_a_known_route_with_a_wrong_method_is_405(arm_server: EmulatorServer) -> None:
    response = requests.post(
        arm_server.base_url + WORKSPACE + "?api-version=1",
        headers=BEARER,
        verify=str(arm_server.ca.ca_cert),
        timeout=30,
    )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"


def test_any_api_version_is_accepted_and_logged(
    arm_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emulator.arm")
    response = get(arm_server, WORKSPACE + "?api-version=2031-07-01-preview", headers=BEARER)
    assert response.status_code == 200
    assert any("api-version=2031-07-01-preview" in r.getMessage() for r in caplog.records)


def test_a_workspace_is_created_on_first_use_and_logged(
    arm_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    response = get(arm_server, WORKSPACE + "?api-version=2024-10-01-preview", headers=BEARER)
    body = response.json()
    assert response.status_code == 200
    assert body["id"] == WORKSPACE and body["name"] == "ws-1"
    assert body["properties"]["discoveryUrl"].startswith(arm_server.base_url)
    assert body["properties"]["storageAccount"].startswith("/subscriptions/sub-1/resourceGroups/")
    assert "did not exist" in caplog.text and "created it" in caplog.text
    [record] = WorkspaceStore(arm_server.root).all()
    assert (record.subscription_id, record.resource_group, record.name) == ("sub-1", "rg-1", "ws-1")
    again = get(arm_server, WORKSPACE + "?api-version=1", headers=BEARER).json()
    assert again["properties"]["workspaceId"] == body["properties"]["workspaceId"]


def test_strict_mode_answers_arms_404_for_an_unknown_workspace(
    arm_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    response = get(arm_server, WORKSPACE + "?api-version=1", headers=BEARER)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "ResourceNotFound"
    assert "'Microsoft.MachineLearningServices/workspaces/ws-1'" in error["message"]
    assert STRICT_ENV in error["message"]
    assert WorkspaceStore(arm_server.root).all() == []


def test_workspaces_are_listed_per_resource_group(arm_server: EmulatorServer) -> None:
    store = WorkspaceStore(arm_server.root)
    store.create("sub-1", "rg-1", "a")
    store.create("sub-1", "rg-2", "b")
    rg_path = "/subscriptions/sub-1/resourceGroups/rg-1/providers/"
    rg_list = get(
        arm_server,
        rg_path + "Microsoft.MachineLearningServices/workspaces?api-version=1",
        headers=BEARER,
    ).json()
    assert [w["name"] for w in rg_list["value"]] == ["a"]
    sub_list = get(
        arm_server,
        "/subscriptions/sub-1/providers/Microsoft.MachineLearningServices/workspaces?api-version=1",
        headers=BEARER,
    ).json()
    assert sorted(w["name"] for w in sub_list["value"]) == ["a", "b"]


def test_cloud_metadata_names_the_emulators_own_cloud(arm_server: EmulatorServer) -> None:
    response = get(arm_server, "/metadata/endpoints?api-version=2019-05-01")
    [cloud] = response.json()
    assert response.status_code == 200
    assert cloud["name"] not in ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment")
    assert cloud["resourceManager"] == arm_server.base_url + "/"


def test_the_identity_endpoint_needs_the_roots_identity_header(
    arm_server: EmulatorServer,
) -> None:
    path = "/msi/token?api-version=2019-08-01&resource=https://127.0.0.1/"
    wrong = get(arm_server, path, headers={"X-IDENTITY-HEADER": "guess"})
    assert wrong.status_code == 401
    assert "IDENTITY_HEADER" in wrong.json()["message"]
    right = get(arm_server, path, headers={"X-IDENTITY-HEADER": arm_server.identity_secret})
    token = right.json()
    assert right.status_code == 200
    assert token["token_type"] == "Bearer" and token["resource"] == "https://127.0.0.1/"
    assert token["access_token"].count(".") == 2 and int(token["expires_on"]) > 0


def test_the_server_certificate_verifies_for_localhost_too(arm_server: EmulatorServer) -> None:
    response = requests.get(
        f"https://localhost:{arm_server.port}/metadata/endpoints",
        verify=str(arm_server.ca.ca_cert),
        timeout=30,
    )
    assert response.status_code == 200


def test_the_identity_endpoint_needs_a_resource(arm_server: EmulatorServer) -> None:
    headers = {"X-IDENTITY-HEADER": arm_server.identity_secret}
    response = get(arm_server, "/msi/token?api-version=2019-08-01", headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "The 'resource' query parameter is required.",
    }


def test_a_failing_handler_answers_arms_500_and_logs_the_traceback(
    arm_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    (arm_server.root.path / "registry.sqlite3").write_bytes(b"not a database" * 100)
    response = get(arm_server, WORKSPACE + "?api-version=1", headers=BEARER)
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "InternalServerError"
    assert "Traceback" not in response.text and "daemon.log" in error["message"]
    assert any(r.exc_info for r in caplog.records if r.name == "emulator.arm")


@pytest.mark.parametrize(
    ("resource_group", "api_version"),
    [
        ("rg-1", "2023-04-01-preview"),
        ("rg-1", "2023-04-01-preview&listViewType=All#top 1"),  # any api-version is accepted
        ("rg #1?", "2023-04-01-preview"),  # as are resource group names (sent %-encoded)
    ],
)
def test_the_operation_status_url_gives_back_the_path_and_api_version_it_was_asked_for(
    tmp_path: Path, resource_group: str, api_version: str
) -> None:
    """The ``Azure-AsyncOperation`` URL a long-running PUT answers with is what the client's
    poller GETs next: it must reach this deployment's ``operationStatus`` at the same
    api-version, whatever characters the client sent."""
    deployment = (
        f"/subscriptions/sub-1/resourceGroups/{resource_group}/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws-1/onlineEndpoints/ep/deployments/blue"
    )
    wire = f"{quote(deployment)}?{urlencode({'api-version': api_version})}"
    request = Request(EnvironBuilder(path=wire).get_environ())
    assert (request.path, request.args["api-version"]) == (deployment, api_version)
    ctx = ArmContext(EmulatorRoot(tmp_path), "https://127.0.0.1:8443", "secret")
    url = WorkspaceRequest(ctx, request, "sub-1", resource_group, "ws-1").operation_status_url()

    polled = urlsplit(url)
    assert (polled.scheme, polled.netloc, polled.fragment) == ("https", "127.0.0.1:8443", "")
    assert parse_qs(polled.query) == {"api-version": [api_version]}
    found = urls.match(unquote(polled.path))
    assert found is not None
    route, params = found
    assert route.methods["GET"] is deployment_responses.operation_status
    assert (params["resource_group"], params["endpoint"], params["deployment"]) == (
        resource_group,
        "ep",
        "blue",
    )
    if resource_group == "rg-1" and "&" not in api_version:  # what the SDK sends: unchanged
        assert (
            url == f"https://127.0.0.1:8443{deployment}/operationStatus?api-version={api_version}"
        )


@pytest.mark.parametrize(
    "body", [b"", b"[]", b'{"properties": {}}', b'{"properties": {"isArchived": "yes"}}']
)
def test_a_container_put_without_a_boolean_is_archived_is_a_400_naming_how(body: bytes) -> None:
    request = Request(
        EnvironBuilder(method="PUT", data=body, content_type="application/json").get_environ()
    )
    with pytest.raises(BadRequest, match=r"model container body .* boolean 'isArchived'") as caught:
        container_archived(request, "model", "models", verb="registering")
    assert "Model names are created by registering a version" in caught.value.message
    assert "ml_client.models.archive(name) / restore(name)" in caught.value.message


def test_a_container_put_gives_the_archived_flag_it_asks_for() -> None:
    for flag in (True, False):
        body = b'{"properties": {"isArchived": %s}}' % str(flag).lower().encode()
        environ = EnvironBuilder(method="PUT", data=body, content_type="application/json")
        assert container_archived(Request(environ.get_environ()), "data", "data") is flag

"""Online endpoints through the real ``azure-ai-ml`` client: create (a finished long-running
operation), update, get, list, keys, delete, and the errors a user meets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from azure.ai.ml import MLClient
from azure.ai.ml.entities import ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential

from emulator.daemon.server import EmulatorServer

SUB = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def client(arm_server: EmulatorServer, v2_env: dict[str, str]) -> MLClient:
    return MLClient(DefaultAzureCredential(), SUB, "rg", "ws")


def test_an_endpoint_is_created_read_listed_and_deleted(
    client: MLClient, arm_server: EmulatorServer
) -> None:
    poller = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="churn-ep", auth_mode="key", description="scores churn")
    )
    created = poller.result()
    assert poller.status() == "Succeeded"
    assert (created.name, created.auth_mode, created.provisioning_state) == (
        "churn-ep",
        "key",
        "Succeeded",
    )
    assert created.scoring_uri.startswith(arm_server.base_url + "/")
    assert created.scoring_uri.endswith("/churn-ep/score")

    fetched = client.online_endpoints.get("churn-ep")
    assert (fetched.description, fetched.scoring_uri, fetched.traffic) == (
        "scores churn",
        created.scoring_uri,
        {},
    )
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="other-ep", auth_mode="key")
    ).result()
    assert sorted(e.name for e in client.online_endpoints.list()) == ["churn-ep", "other-ep"]

    client.online_endpoints.begin_delete(name="churn-ep").result()
    assert [e.name for e in client.online_endpoints.list()] == ["other-ep"]
    with pytest.raises(ResourceNotFoundError, match="Online endpoint 'churn-ep' does not exist"):
        client.online_endpoints.get("churn-ep")


def test_keys_are_made_once_kept_across_updates_and_regenerated_one_at_a_time(
    client: MLClient,
) -> None:
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="keyed", auth_mode="key", tags={"v": "1"})
    ).result()
    keys = client.online_endpoints.get_keys("keyed")
    assert keys.primary_key and keys.secondary_key
    assert keys.primary_key != keys.secondary_key

    updated = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="keyed", auth_mode="key", tags={"v": "2"})
    ).result()
    assert updated.tags == {"v": "2"}
    again = client.online_endpoints.get_keys("keyed")
    assert (again.primary_key, again.secondary_key) == (keys.primary_key, keys.secondary_key)

    client.online_endpoints.begin_regenerate_keys("keyed", key_type="secondary").result()
    rotated = client.online_endpoints.get_keys("keyed")
    assert rotated.primary_key == keys.primary_key
    assert rotated.secondary_key not in (keys.primary_key, keys.secondary_key)
    client.online_endpoints.begin_regenerate_keys("keyed").result()  # primary by default
    assert client.online_endpoints.get_keys("keyed").primary_key != keys.primary_key


def test_regenerate_keys_sets_a_given_key_value(
    client: MLClient, arm_server: EmulatorServer, v2_env: dict[str, str]
) -> None:
    """ARM's keyValue (a REST client's choice; azure-ai-ml sends the current key, above)."""
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="chosen", auth_mode="key")
    ).result()
    token = DefaultAzureCredential().get_token(arm_server.base_url + "/.default").token
    answer = requests.post(
        f"{arm_server.base_url}/subscriptions/{SUB}/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/chosen/regenerateKeys",
        params={"api-version": "2023-04-01"},
        json={"keyType": "Primary", "keyValue": "my-own-key-0123456789"},
        headers={"Authorization": f"Bearer {token}"},
        verify=v2_env["REQUESTS_CA_BUNDLE"],
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert client.online_endpoints.get_keys("chosen").primary_key == "my-own-key-0123456789"


def test_unknown_endpoints_and_traffic_to_missing_deployments_are_refused(
    client: MLClient,
) -> None:
    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="lonely", auth_mode="key")
    ).result()
    with pytest.raises(ResourceNotFoundError, match="Endpoints of this workspace: 'lonely'"):
        client.online_endpoints.get_keys("missing")
    with pytest.raises(ResourceNotFoundError, match="Online endpoint 'missing' does not exist"):
        client.online_endpoints.begin_delete(name="missing").result()
    with pytest.raises(HttpResponseError, match="deployments that do not exist: 'blue'"):
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="lonely", auth_mode="key", traffic={"blue": 100})
        ).result()
    with pytest.raises(HttpResponseError, match="deployments that do not exist: 'green'"):
        client.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="lonely", auth_mode="key", mirror_traffic={"green": 10})
        ).result()
    assert client.online_endpoints.get("lonely").traffic == {}


def test_the_scoring_uri_checks_the_key_then_finds_no_deployment(
    client: MLClient, v2_env: dict[str, str], tmp_path: Path
) -> None:
    endpoint = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="empty-ep", auth_mode="key")
    ).result()
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps({"data": [[1, 2]]}))
    with pytest.raises(ResourceNotFoundError, match="No valid deployments to route to"):
        client.online_endpoints.invoke("empty-ep", request_file=str(request_file))

    keys = client.online_endpoints.get_keys("empty-ep")
    bundle = v2_env["REQUESTS_CA_BUNDLE"]
    answers = {
        key: requests.post(
            endpoint.scoring_uri,
            json={"data": [[1, 2]]},
            headers={"Authorization": f"Bearer {key}"} if key else {},
            verify=bundle,
            timeout=30,
        )
        for key in ("wrong", "", keys.secondary_key, keys.primary_key)
    }
    assert [a.status_code for a in answers.values()] == [401, 401, 404, 404]
    assert "get_keys('empty-ep')" in answers["wrong"].json()["error"]["message"]
    assert "get_keys('empty-ep')" in answers[""].json()["error"]["message"]


def test_aml_token_endpoints_hand_out_tokens_their_scoring_uri_accepts(
    client: MLClient, arm_server: EmulatorServer, v2_env: dict[str, str], tmp_path: Path
) -> None:
    endpoint = client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="tokened", auth_mode="aml_token")
    ).result()
    assert endpoint.auth_mode == "aml_token"
    token = client.online_endpoints.get_keys("tokened")
    assert token.token_type == "Bearer"
    assert token.refresh_after_time_utc < token.expiry_time_utc
    request_file = tmp_path / "request.json"
    request_file.write_text("{}")
    # invoke fetches a token itself; the token passes, then there is no deployment
    with pytest.raises(ResourceNotFoundError, match="No valid deployments to route to"):
        client.online_endpoints.invoke("tokened", request_file=str(request_file))

    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="other-tokened", auth_mode="aml_token")
    ).result()
    foreign = client.online_endpoints.get_keys("other-tokened").access_token
    bundle = v2_env["REQUESTS_CA_BUNDLE"]
    answer = requests.post(
        endpoint.scoring_uri,
        json={},
        headers={"Authorization": f"Bearer {foreign}"},
        verify=bundle,
        timeout=30,
    )
    assert answer.status_code == 401  # each endpoint signs its own tokens
    assert "Unauthorized, invalid token" in answer.json()["error"]["message"]

    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="keyed-only", auth_mode="key")
    ).result()
    arm_token = DefaultAzureCredential().get_token(arm_server.base_url + "/.default").token
    refused = requests.post(
        f"{arm_server.base_url}/subscriptions/{SUB}/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws/onlineEndpoints/keyed-only/token",
        params={"api-version": "2023-04-01"},
        headers={"Authorization": f"Bearer {arm_token}"},
        verify=bundle,
        timeout=30,
    )
    assert refused.status_code == 400
    assert "has no tokens" in refused.json()["error"]["message"]

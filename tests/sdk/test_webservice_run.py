"""``Webservice.run`` against an emulated service: what reaches the scoring script, and what a
client sees when the environment has a proxy or the service is gone."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from emulator.mock import AzureMock
from emulator.mock.urllib_opener import installed_opener

HEADERS_SCRIPT = """
from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse

def init():
    pass

@rawhttp
def run(request):
    seen = {name.lower(): value for name, value in request.headers.items()}
    answer = {"body": request.get_data(as_text=True), "headers": seen}
    return AMLResponse(answer, 200, json_str=True)
"""


@pytest.fixture
def headers_script(tmp_path: Path) -> Path:
    script = tmp_path / "headers.py"
    script.write_text(HEADERS_SCRIPT)
    return script


@pytest.mark.aml_reuse
def test_run_sends_what_urlopen_sent(aml_deploy: Any, headers_script: Path) -> None:
    answer = aml_deploy(headers_script).run({"n": 1})
    assert answer["body"] == '{"n": 1}'
    headers = answer["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("Python-urllib/")


@pytest.mark.aml_reuse
def test_a_proxy_in_the_environment_never_carries_loopback_scoring_traffic(
    aml_deploy: Any, headers_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = aml_deploy(headers_script)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert service.run("[1, 2]")["body"] == "[1, 2]"


@pytest.mark.aml_reuse
def test_loopback_scoring_traffic_skips_the_proxy_after_any_urlopen_in_the_process(
    aml_deploy: Any, headers_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``urlopen``'s first call installs an opener of its own (with the proxy then in the
    environment): Webservice.run still posts directly, never to the proxy."""
    service = aml_deploy(headers_script)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    previous = installed_opener()
    urllib.request.install_opener(None)
    try:
        with urllib.request.urlopen("data:,x") as answer:  # any plain urlopen, e.g. a test's
            assert answer.read() == b"x"
        assert installed_opener() is not None  # urlopen installed its own opener
        assert service.run("[3]")["body"] == "[3]"
    finally:
        urllib.request.install_opener(previous)


@pytest.mark.aml_reuse
def test_an_installed_opener_still_sees_run(aml_deploy: Any, headers_script: Path) -> None:
    service = aml_deploy(headers_script)
    seen: list[str] = []

    class Recording(urllib.request.BaseHandler):
        handler_order = 100

        def http_open(self, request: urllib.request.Request) -> None:
            seen.append(request.full_url)  # then the standard handler sends it

    urllib.request.install_opener(urllib.request.build_opener(Recording()))
    try:
        assert service.run({"k": "v"})["body"] == '{"k": "v"}'
    finally:
        urllib.request.install_opener(None)
    assert seen == [service.scoring_uri]


def test_a_deleted_service_refuses_the_connection(aml_deploy: Any, headers_script: Path) -> None:
    service = aml_deploy(headers_script)
    with AzureMock():  # not the mock's URI: its opener passes the request on
        assert service.run("{}")["body"] == "{}"
    service.delete()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        service.run("{}")

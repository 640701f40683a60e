"""``amlemu logs --telemetry``: the Application Insights items a service recorded (nothing sent).

``enable_app_insights=True`` gives the containers Azure's variables (the switch, the
workspace's key), so azmlinfsrv's client starts and its items land next to the replica's log.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from cli_harness import amlemu, build_image, register_model

from emulator import AciWebservice, Webservice, Workspace
from emulator.cli.logs_cmd import _follow


def test_telemetry_of_a_service_with_app_insights(
    aml_workspace: Workspace, aml_root: Path, workdir: Path, fast_env: None
) -> None:
    register_model(aml_workspace, workdir)
    image = build_image(aml_workspace, workdir, "score_seed_model.py", "ai-img")
    config = AciWebservice.deploy_configuration(enable_app_insights=True)
    service = Webservice.deploy_from_image(aml_workspace, "ai-svc", image, config)
    service.wait_for_deployment()
    assert service.enable_app_insights is True
    service.run("{}")
    logs = service.get_logs()
    assert "Valid Application Insights instrumentation key provided." in logs
    assert "Application Insights Enabled: true\nApplication Insights Key: AppInsights key" in logs

    result = amlemu(aml_root, "logs", "ai-svc", "--telemetry")
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]
    (scored,) = [item for item in items if item["type"] == "request"]
    assert (scored["name"], scored["resultCode"], scored["http_method"]) == (
        "/score",
        "200",
        "POST",
    )
    assert scored["Workspace Name"] == aml_workspace.name
    assert json.loads(scored["Response Value"])["model"].endswith("model.pkl")
    traces = [item["message"] for item in items if item["type"] == "trace"]
    assert any(message.startswith("seed-score: init found the model") for message in traces)
    tail = amlemu(aml_root, "logs", "ai-svc", "--telemetry", "--tail", "1")
    assert tail.stdout == result.stdout.splitlines(keepends=True)[-1]


def test_a_service_without_app_insights_says_how_to_enable_it_in_place(
    aml_workspace: Workspace, aml_root: Path, workdir: Path, fast_env: None
) -> None:
    register_model(aml_workspace, workdir)
    image = build_image(aml_workspace, workdir, "score_seed_model.py", "plain-img")
    service = Webservice.deploy_from_image(
        aml_workspace, "plain-svc", image, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment()
    service.run("{}")
    assert "Application Insights Enabled: false" in service.get_logs()
    result = amlemu(aml_root, "logs", "plain-svc", "--telemetry")
    assert result.returncode == 1
    assert "Service plain-svc has recorded no Application Insights telemetry" in result.stderr
    assert "enable_app_insights=True" in result.stderr
    both = amlemu(aml_root, "logs", "plain-svc", "--telemetry", "--init")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    # the fix the message names: turned on in place, the new replicas record
    service.update(enable_app_insights=True)
    service.wait_for_deployment()
    assert service.enable_app_insights is True
    service.run("{}")
    deadline = time.monotonic() + 30  # the old replica drains for a second before it stops
    while True:
        after = amlemu(aml_root, "logs", "plain-svc", "--telemetry")
        assert after.returncode == 0, after.stderr
        if '"type": "request"' in after.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert '"type": "request"' in after.stdout


def test_following_waits_for_the_first_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service that has recorded nothing yet has no telemetry file: following waits for it."""
    path = tmp_path / "svc-abc123-1-0000abcd.telemetry.jsonl"
    writer = threading.Timer(0.15, lambda: path.write_text('{"type": "trace"}\n'))
    checks = iter([True, False])  # the service is deleted at the second check
    writer.start()
    try:
        _follow(path, 0, None, lambda: next(checks))
    finally:
        writer.cancel()
    assert capsys.readouterr().out == '{"type": "trace"}\n'

"""Shared services: identical deployments share one, different ones do not, all end with the
session."""

from __future__ import annotations

import json

import pytest

from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SERVICE, SESSION, env_name, session_id

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

SCRIPT = """
import os

def init():
    pass

def run(raw):
    return os.getpid()
"""

TESTS = """
import json
import pytest
from emulator import Model

def record(label, service):
    with open("seen.jsonl", "a") as handle:
        handle.write(json.dumps([label, service.name, service.run("{}")]) + "\\n")

@pytest.mark.aml_reuse
def test_path(aml_deploy):
    record("path", aml_deploy("score_pid.py", models=["weights.json"]))

@pytest.mark.aml_reuse
def test_same_file_registered_by_the_test(aml_deploy, aml_workspace):
    model = Model.register(aml_workspace, "weights.json", "weights")
    record("model", aml_deploy("score_pid.py", models=[model]))

@pytest.mark.aml_reuse
def test_other_configuration(aml_deploy):
    record("config", aml_deploy("score_pid.py", models=["weights.json"], cpu_cores=0.5))

def test_not_opted_in(aml_deploy):
    record("own", aml_deploy("score_pid.py", models=["weights.json"]))
"""


def _seen(pytester: pytest.Pytester) -> dict[str, tuple[str, int]]:
    lines = (pytester.path / "seen.jsonl").read_text().splitlines()
    return {label: (name, pid) for label, name, pid in map(json.loads, lines)}


def _running(name: str) -> set[int]:
    mine = set(processes_with_env(env_name(SESSION), session_id()))
    return mine & set(processes_with_env(env_name(SERVICE), name))


def test_identical_deployments_share_one_service_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(score_pid=SCRIPT, test_shared=TESTS)
    (pytester.path / "weights.json").write_text('{"w": 1}')
    pytester.inline_run(*QUIET).assertoutcome(passed=4)
    seen = _seen(pytester)
    assert seen["path"] == seen["model"]  # the same script, file content and configuration
    assert seen["config"][1] != seen["path"][1]
    assert seen["own"][1] not in (seen["path"][1], seen["config"][1])
    for name, _ in seen.values():
        assert not _running(name)  # deleted at the end of the session


def test_the_option_opts_every_test_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        score_pid=SCRIPT,
        test_option="""
        def test_one(aml_deploy):
            print("PID", aml_deploy("score_pid.py").run("{}"))

        def test_two(aml_deploy):
            print("PID", aml_deploy("score_pid.py").run("{}"))
        """,
    )
    result = pytester.runpytest(*QUIET, "-s", "--aml-reuse")
    result.assert_outcomes(passed=2)
    pids = {line.split("PID ")[1] for line in result.outlines if "PID " in line}
    assert len(pids) == 1

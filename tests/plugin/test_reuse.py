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


#: Scoring "die" ends the replica and marks its service broken: every restart's init() fails
#: (the flag names the service, so a new deployment of the same script starts).
BREAKABLE = """
import os

BROKEN = {broken!r}
SERVICE = os.environ["AMLEMU_LABEL_SERVICE"]

def init():
    if os.path.exists(BROKEN) and open(BROKEN).read() == SERVICE:
        raise RuntimeError("broken on purpose: " + SERVICE)

def run(raw):
    if raw == '"die"':
        with open(BROKEN, "w") as flag:
            flag.write(SERVICE)
        os._exit(1)
    return os.getpid()
"""

RECOVERY_TESTS = """
import json
import time

import pytest

def record(label, service):
    with open("seen.jsonl", "a") as handle:
        handle.write(json.dumps([label, service.name, service.run("{}")]) + "\\n")

@pytest.mark.aml_reuse
def test_1_deletes_the_shared_service(aml_deploy):
    service = aml_deploy("score_pid.py")
    record("deleted", service)
    service.delete()

@pytest.mark.aml_reuse
def test_2_after_the_delete(aml_deploy):
    record("after delete", aml_deploy("score_pid.py"))

@pytest.mark.aml_reuse
def test_3_breaks_the_shared_service(aml_deploy):
    service = aml_deploy("score_breakable.py")
    record("broken", service)
    try:
        service.run('"die"')  # the replica exits; every restart's init() fails
    except Exception:
        pass
    deadline = time.monotonic() + 120
    while service.state == "Healthy" and time.monotonic() < deadline:
        time.sleep(0.05)
        service.update_deployment_state()
    assert service.state in ("Unhealthy", "Failed")

@pytest.mark.aml_reuse
def test_4_after_the_failure(aml_deploy):
    record("after failure", aml_deploy("score_breakable.py"))

@pytest.mark.aml_reuse
def test_5_first_version(aml_deploy):
    record("v1", aml_deploy("score_version.py"))
    with open("score_version.py", "w") as script:
        script.write("def init():\\n    pass\\n\\ndef run(raw):\\n    return 'v2'\\n")

@pytest.mark.aml_reuse
def test_6_changed_script(aml_deploy):
    record("v2", aml_deploy("score_version.py"))
"""


def test_a_deleted_failed_or_changed_shared_service_is_not_reused(
    pytester: pytest.Pytester,
) -> None:
    broken = str(pytester.path / "broken.flag")
    pytester.makepyfile(
        score_pid=SCRIPT,
        score_breakable=BREAKABLE.format(broken=broken),
        score_version="def init():\n    pass\n\ndef run(raw):\n    return 'v1'\n",
        test_recovery=RECOVERY_TESTS,
    )
    pytester.inline_run(*QUIET).assertoutcome(passed=6)
    seen = _seen(pytester)
    assert seen["after delete"][0] != seen["deleted"][0]  # deployed again, and it answers
    assert seen["after failure"][0] != seen["broken"][0]
    assert seen["after failure"][1] != seen["broken"][1]
    assert seen["v1"] == (seen["v1"][0], "v1") and seen["v2"][1] == "v2"
    assert seen["v2"][0] != seen["v1"][0]
    for name, _ in seen.values():
        assert not _running(name)


def test_a_reusing_test_still_has_the_shim_and_its_own_workspace(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        score_pid=SCRIPT,
        test_lazy="""
        import os
        import pytest

        @pytest.mark.aml_reuse
        def test_shim_and_workspace(aml_deploy, aml_root):
            from azureml.core import Webservice, Workspace

            service = aml_deploy("score_pid.py")
            assert isinstance(service, Webservice)
            own = aml_deploy.workspace
            assert isinstance(own, Workspace) and own.name == "test-workspace"
            assert os.environ["AZUREML_EMULATOR_ROOT"] == str(aml_root)
            assert service.workspace.name != own.name  # the shared one is not the test's

        @pytest.mark.aml_reuse
        def test_own_root_made_on_first_use(aml_deploy, request):
            aml_deploy("score_pid.py")
            root = os.environ["AZUREML_EMULATOR_ROOT"]
            assert not os.path.exists(root)  # named, not made, until something writes there
            assert aml_deploy.workspace.name == "test-workspace"
            assert os.path.isdir(root)
            assert str(request.getfixturevalue("aml_root")) == root

        def test_the_shim_ends_with_the_test():
            with pytest.raises(ImportError):
                import azureml.core  # noqa: F401
        """,
    )
    pytester.inline_run(*QUIET).assertoutcome(passed=3)

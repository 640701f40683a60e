"""Failure reports carry the service logs; teardown leaves no process behind."""

from __future__ import annotations

import pytest

from emulator.runtime.backends.process import processes_with_env
from emulator.runtime.labels import SERVICE, SESSION, env_name, session_id

#: Inner sessions leave out plugins they do not need (hypothesis' summary takes seconds).
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

SCRIPT = """
def init():
    print("alpha: ready")

def run(raw):
    print("alpha: scored", raw)
    return 1
"""

TESTS = """
def test_fails(aml_deploy):
    service = aml_deploy("score_alpha.py")
    service.run('"first"')
    service.run('"second"')
    assert False, "the test's own failure"

def test_passes(aml_deploy):
    assert aml_deploy("score_alpha.py", name="passing-svc").run("{}") == 1
"""


def test_a_failed_test_reports_each_service_log_newest_last(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(score_alpha=SCRIPT, test_report=TESTS)
    recorder = pytester.inline_run(*QUIET)
    recorder.assertoutcome(passed=1, failed=1)
    reports = recorder.getreports("pytest_runtest_logreport")
    failed = next(r for r in reports if r.failed)
    sections = dict(failed.sections)
    logs = sections["azureml service score-alpha-1 logs"]
    assert "alpha: ready" in logs
    assert logs.index('alpha: scored "first"') < logs.index('alpha: scored "second"')
    assert not [title for r in reports if r.passed for title, _ in r.sections if "azureml" in title]

    mine = set(processes_with_env(env_name(SESSION), session_id()))
    for name in ("score-alpha-1", "passing-svc"):  # deleted at teardown, processes included
        assert not mine & set(processes_with_env(env_name(SERVICE), name))

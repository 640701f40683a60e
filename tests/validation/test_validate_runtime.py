"""init() and run() for real in the environment: failures, samples, exception texts."""

from __future__ import annotations

import json
from collections.abc import Callable

from emulator.validation.checks import Severity
from emulator.validation.report import Report
from emulator.validation.target import Sample

Validate = Callable[..., Report]


def _sample(label: str, request: object, **kwargs: object) -> Sample:
    return Sample.from_value(request, label, **kwargs)  # type: ignore[arg-type]


def test_samples_are_scored_by_the_servers_rules(validate_script: Validate) -> None:
    report = validate_script(
        "validate_samples.py",
        samples=[
            _sample("good", {"op": "echo"}, expect={"op": "echo"}),
            _sample("expected-failure", {"op": "fail"}, status=500),
            _sample("wrong-output", {"op": "echo", "x": 1}, expect={"op": "echo"}),
            _sample("failure", {"op": "fail"}),
            _sample("set", {"op": "set"}),
            _sample("swallow", {"op": "swallow"}),
        ],
    )
    by_check = {f.check: f for f in report.findings}
    assert sorted(report.ids()) == ["AML030", "AML031", "AML050", "AML051", "AML052"]
    assert by_check["AML051"].message.startswith("wrong-output: run() answered")
    assert by_check["AML050"].message.startswith("failure got status 500, expected 200")
    assert "ValueError: cannot score this request" in by_check["AML050"].message
    assert by_check["AML052"].message.startswith("run() returned a dict for set: TypeError")
    assert "Object of type set is not JSON serializable" in by_check["AML052"].message
    assert by_check["AML031"].message.startswith("swallow was answered 200 with the text")
    assert "'features'" in by_check["AML031"].message
    assert report.exit_code == 1
    run = report.measurements["run"]  # type: ignore[index]
    assert run["calls"] == 6 and run["failedCalls"] == 3


def test_a_clean_script_passes_and_notes_that_run_was_not_called(
    validate_script: Validate,
) -> None:
    report = validate_script("score_echo.py")
    assert [(f.check, f.severity) for f in report.findings] == [("AML053", Severity.INFO)]
    assert report.exit_code == 0
    assert report.environment["mode"] == "host"
    startup = report.measurements["startup"]  # type: ignore[index]
    assert startup["peakMemoryMB"] > 10 and startup["estimatedMs"] >= startup["wallMs"]


def test_memory_is_the_scripts_own_not_that_of_the_process_that_validates(
    validate_script: Validate,
) -> None:
    """Linux carries a process's peak RSS across exec: validating from a notebook holding
    600 MB must not report 600 MB for a script that loads nothing."""
    held = b"\x01" * (600 * 1024 * 1024)  # written, so resident
    report = validate_script("score_echo.py")
    del held
    assert "AML070" not in report.ids()
    startup = report.measurements["startup"]  # type: ignore[index]
    assert 10 < startup["peakMemoryMB"] < 300


def test_init_that_raises_is_reported_with_its_traceback_and_a_hint(
    validate_script: Validate,
) -> None:
    report = validate_script("score_init_raises.py", samples=[_sample("s", "{}")])
    [failure] = report.findings
    assert failure.check == "AML040" and failure.message.startswith("init() raised:")
    assert "FileNotFoundError" in failure.message and "/nonexistent/model.pkl" in failure.message
    assert "AZUREML_MODEL_DIR" in failure.hint
    assert report.measurements is None


def test_a_run_signature_the_server_refuses_is_reported(validate_script: Validate) -> None:
    report = validate_script("server/score_bad_signature.py")
    assert [(f.check, f.message) for f in report.findings] == [
        ("AML004", "run() cannot accept positional-only arguments, *args, or **kwargs.")
    ]


def test_a_script_that_does_not_parse_is_not_started(validate_script: Validate) -> None:
    report = validate_script("score_syntax_error.py")
    assert report.ids() == ["AML001"] and report.measurements is None


def test_malformed_requests_answered_200_with_the_exception_text_are_flagged(
    validate_script: Validate,
) -> None:
    report = validate_script("validate_returns_error.py", samples=[_sample("ok", {"data": 1})])
    assert report.ids() == ["AML030", "AML031"]
    leak = report.findings[1]
    assert leak.message.startswith("malformed requests were answered 200")
    assert '{"data": [[1.0, 2.0 -> "Expecting' in leak.message
    assert '{"amlemu_malformed_request": true} -> "\'data\'"' in leak.message
    assert json.loads(report.to_json())["exitCode"] == 1


def test_outputs_are_checked_against_expect_schema(validate_script: Validate) -> None:
    report = validate_script(
        "validate_samples.py",
        samples=[
            _sample("fits", {"op": "echo"}, expect_schema={"type": "object"}),
            _sample("misfits", {"op": "echo"}, expect_schema={"type": "array"}),
        ],
    )
    schema_findings = [f for f in report.findings if f.check == "AML051"]
    assert len(schema_findings) == 1
    assert schema_findings[0].message.startswith(
        "misfits: run()'s answer does not match expect_schema"
    )

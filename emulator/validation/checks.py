"""The registry of checks: a stable id, a default severity, a title and the fix.

Ids never change meaning (users silence or grep them in CI); a finding may carry a severity
other than its check's default where the evidence decides it (over 80 % of the memory limit is
a warning, over 100 % an error).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    title: str
    hint: str


def _checks(*checks: Check) -> dict[str, Check]:
    return {check.id: check for check in checks}


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

CHECKS = _checks(
    Check(
        "AML001",
        _E,
        "entry script does not parse",
        "Fix the syntax error; the scoring server imports the script at start-up.",
    ),
    Check(
        "AML002",
        _E,
        "entry script defines no init()",
        "Define a module-level `def init():` that loads the model into a global.",
    ),
    Check(
        "AML003",
        _E,
        "entry script defines no run()",
        "Define a module-level `def run(data):` that scores one request.",
    ),
    Check(
        "AML004",
        _E,
        "the scoring server cannot call the script",
        "Give run() exactly one data parameter (plus an optional request_headers), without "
        "*args, **kwargs or positional-only parameters.",
    ),
    Check(
        "AML005",
        _W,
        "init() swallows exceptions",
        "Re-raise in init()'s except block (or remove it): a failed init() must stop the "
        "container, otherwise it reports Healthy and every request fails later.",
    ),
    Check(
        "AML010",
        _E,
        "import does not resolve in the declared environment",
        "Add the package that provides it to the environment's conda/pip dependencies.",
    ),
    Check(
        "AML011",
        _E,
        "deprecated import",
        "Use the replacement module and declare its package in the environment.",
    ),
    Check(
        "AML012",
        _W,
        "exact pin replaced by the nearest version with a build",
        "Azure installs the version as pinned, on the environment's python; pin a version that "
        "has a build for both pythons, or install the environment's python on this machine so "
        "the emulator builds with it (then unset AZUREML_EMULATOR_PINS).",
    ),
    Check(
        "AML020",
        _E,
        "get_model_path() names a model that is not deployed",
        "Use the registered name (and version) of a model passed to the deployment.",
    ),
    Check(
        "AML021",
        _E,
        "path under AZUREML_MODEL_DIR does not match the deployed layout",
        "AZUREML_MODEL_DIR is azureml-models/<name>/<version> for one model and azureml-models "
        "for several (paths then start with <name>/<version>/); join the registered file name.",
    ),
    Check(
        "AML030",
        _E,
        "run() returns the exception text",
        "Re-raise (the server answers 500 and logs the traceback) or return "
        "AMLResponse(message, 500): a 200 carrying an error message looks like a success "
        "to every client.",
    ),
    Check(
        "AML031",
        _E,
        "a request was answered 200 with the text of an exception",
        "Let the exception propagate from run(), or return AMLResponse(message, 4xx/5xx).",
    ),
    Check(
        "AML040",
        _E,
        "init() fails",
        "Fix the error in the traceback; Azure restarts such a container until the deployment "
        "fails with CrashLoopBackOff.",
    ),
    Check(
        "AML050",
        _E,
        "sample is not scored as expected",
        "Fix run() for this input (the traceback shows where it fails) or the sample.",
    ),
    Check(
        "AML051",
        _E,
        "sample output differs from the expected output",
        "Fix run() or the expected output of the sample.",
    ),
    Check(
        "AML052",
        _E,
        "run() output is not JSON-serializable",
        "Convert numpy arrays and scalars with .tolist() / .item() (sets to lists, bytes to "
        "str) before returning; the server answers 500 otherwise.",
    ),
    Check(
        "AML053",
        _I,
        "run() was not exercised",
        "Pass a sample request (--sample request.json, or samples in the spec file).",
    ),
    Check(
        "AML060",
        _W,
        "model pickled with a different library version",
        "Pin the version the model was saved with in the environment, or re-train and "
        "re-register the model with the environment's version.",
    ),
    Check(
        "AML070",
        _E,
        "peak memory against memory_gb",
        "Raise memory_gb in the deployment configuration, or load less in init().",
    ),
    Check(
        "AML071",
        _E,
        "run() latency against scoring_timeout_ms",
        "Raise scoring_timeout_ms and/or cpu_cores, or make run() faster.",
    ),
    Check(
        "AML072",
        _E,
        "start-up time against the liveness probe",
        "Raise initial_delay_seconds and/or cpu_cores, or make init() faster.",
    ),
)


@dataclass(frozen=True)
class Finding:
    """One problem (or note) found by a check."""

    check: str
    severity: Severity
    message: str
    hint: str
    path: str | None = None
    line: int | None = None

    @property
    def title(self) -> str:
        return CHECKS[self.check].title

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.check,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "hint": self.hint,
            "path": self.path,
            "line": self.line,
        }


def finding(
    check: str,
    message: str,
    *,
    severity: Severity | None = None,
    hint: str | None = None,
    path: str | None = None,
    line: int | None = None,
) -> Finding:
    """A finding of ``check``; severity and hint default to the check's own."""
    registered = CHECKS[check]
    return Finding(
        check, severity or registered.severity, message, hint or registered.hint, path, line
    )

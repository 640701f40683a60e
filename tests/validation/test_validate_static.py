"""Checks read from the script's text: syntax, init/run, removed imports, swallowed errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emulator.validation.checks import CHECKS, Severity
from emulator.validation.static import ScriptFacts, analyse, deprecated_imports

SCORING = Path(__file__).resolve().parents[2] / "fixtures" / "scoring"


def _analyse(tmp_path: Path, source: str) -> tuple[ScriptFacts, list[str]]:
    script = tmp_path / "score.py"
    script.write_text(textwrap.dedent(source))
    facts, findings = analyse(script, "score.py")
    return facts, [f.check for f in findings]


def test_every_check_has_an_id_a_severity_and_a_fix() -> None:
    assert all(cid == check.id and cid.startswith("AML") for cid, check in CHECKS.items())
    assert all(check.hint.endswith(".") and check.title for check in CHECKS.values())


def test_a_syntax_error_is_reported_with_its_line() -> None:
    facts, findings = analyse(SCORING / "score_syntax_error.py", "score_syntax_error.py")
    assert [f.check for f in findings] == ["AML001"]
    assert findings[0].line == 8 and "expected ':'" in findings[0].message
    assert not facts.runnable


def test_a_script_that_parses_and_defines_both_functions_passes() -> None:
    facts, findings = analyse(SCORING / "score_echo.py", "score_echo.py")
    assert findings == [] and facts.runnable


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("def run(data):\n    return data\n", ["AML002"]),
        ("def init():\n    pass\n", ["AML003"]),
        ("x = 1\n", ["AML002", "AML003"]),
    ],
)
def test_missing_init_or_run_is_an_error(tmp_path: Path, source: str, missing: list[str]) -> None:
    facts, ids = _analyse(tmp_path, source)
    assert ids == missing and not facts.runnable


def test_init_and_run_may_be_defined_by_import_or_inside_a_module_level_if(
    tmp_path: Path,
) -> None:
    source = """
        from helpers import init
        if True:
            def run(data):
                return data
    """
    facts, ids = _analyse(tmp_path, source)
    assert ids == [] and facts.runnable


SEED_IMPORT = """
    def init():
        from sklearn.externals import joblib
        import sklearn.externals.six as six
    def run(data):
        return data
"""


def test_removed_sklearn_imports_are_errors_with_their_replacement(tmp_path: Path) -> None:
    facts, _ = _analyse(tmp_path, SEED_IMPORT)
    findings = deprecated_imports(facts, {"scikit-learn": "1.5.2"})
    assert [(f.check, f.severity, f.line) for f in findings] == [
        ("AML011", Severity.ERROR, 3),
        ("AML011", Severity.ERROR, 4),
    ]
    assert "use joblib instead" in findings[0].message
    assert "scikit-learn 1.5.2: the import fails" in findings[0].message
    assert findings[0].hint.startswith("Replace the import: import joblib")


def test_removed_imports_are_warnings_where_the_environment_still_has_them(
    tmp_path: Path,
) -> None:
    facts, _ = _analyse(tmp_path, SEED_IMPORT)
    findings = deprecated_imports(facts, {"scikit-learn": "0.22.2"})
    assert {f.severity for f in findings} == {Severity.WARNING}
    assert "still has it" in findings[0].message


def test_current_imports_pass(tmp_path: Path) -> None:
    facts, _ = _analyse(tmp_path, "import joblib\nfrom sklearn.model_selection import KFold\n")
    assert deprecated_imports(facts, {"scikit-learn": "1.5.2"}) == []


@pytest.mark.parametrize(
    "handler",
    [
        "return str(e)",
        "return {'error': str(e)}",
        "result = json.dumps({'error': repr(e)})",
        "return traceback.format_exc()",
    ],
)
def test_run_returning_the_exception_text_is_flagged(tmp_path: Path, handler: str) -> None:
    source = f"""
        def init():
            pass
        def run(data):
            try:
                result = score(data)
            except Exception as e:
                {handler}
            return result
    """
    _, ids = _analyse(tmp_path, source)
    assert ids == ["AML030"]


@pytest.mark.parametrize(
    "handler",
    [
        "raise",
        "raise ValueError('bad input') from e",
        "return AMLResponse(str(e), 400)",
        "logger.error(e)\n                return {'error': 'bad input'}",
        "other = str(e)",
    ],
)
def test_run_that_re_raises_or_sets_a_status_passes(tmp_path: Path, handler: str) -> None:
    source = f"""
        def init():
            pass
        def run(data):
            try:
                result = score(data)
            except Exception as e:
                {handler}
            return result
    """
    _, ids = _analyse(tmp_path, source)
    assert ids == []


def test_the_seed_scripts_init_and_run_are_both_flagged() -> None:
    _, findings = analyse(SCORING / "scoring_service_seed.py", "scoring_service_seed.py")
    assert [(f.check, f.line) for f in findings] == [("AML030", 33), ("AML005", 23)]


def test_init_swallowing_every_exception_is_a_warning(tmp_path: Path) -> None:
    source = """
        def init():
            try:
                load()
            except Exception as e:
                print('Exception during init: ', str(e))
        def run(data):
            return data
    """
    _, ids = _analyse(tmp_path, source)
    assert ids == ["AML005"]
    assert CHECKS["AML005"].severity is Severity.WARNING


@pytest.mark.parametrize(
    "handler",
    ["except Exception:\n        raise", "except FileNotFoundError:\n        load('fallback')"],
)
def test_init_re_raising_or_catching_a_specific_error_passes(tmp_path: Path, handler: str) -> None:
    source = f"def init():\n    try:\n        load()\n    {handler}\n\ndef run(d):\n    return d\n"
    _, ids = _analyse(tmp_path, source)
    assert ids == []

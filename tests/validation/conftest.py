"""Fixtures for the validation tests: scoring scripts from ``fixtures/scoring`` validated in an
environment of this interpreter's packages (host mode: nothing is installed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.validation.pipeline import validate
from emulator.validation.report import Report
from emulator.validation.spec import build_target

SCORING = Path(__file__).resolve().parents[2] / "fixtures" / "scoring"


@pytest.fixture
def validate_script(aml_root: Path) -> Callable[..., Report]:
    """``validate_script("score_echo.py", samples=[...], **build_target_kwargs)``: a report.

    The environment defaults to an empty pip list (host mode); ``budget_s`` is short.
    """

    def run(script: str, budget_s: float = 60.0, **kwargs: Any) -> Report:
        kwargs.setdefault("environment", [])
        target = build_target(entry_script=script, base=SCORING, **kwargs)
        return validate(target, budget_s=budget_s)

    return run

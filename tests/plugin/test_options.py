"""Options, ini values and the ``aml`` marker, seen from inside a test; Docker-less skips."""

from __future__ import annotations

import pytest

from emulator.settings import PINS_ENV
from emulator.timing import TIME_SCALE_ENV

#: Inner sessions leave out plugins they do not need (hypothesis' summary takes seconds).
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

SHOW_ENVIRONMENT = """
import os
import pytest

NAMES = ("AZUREML_EMULATOR_RUNTIME", "AZUREML_EMULATOR_BUILDER", "AZUREML_EMULATOR_STRICT",
         "AZUREML_EMULATOR_TIME_SCALE")

def test_environment(aml_root):
    print("ENV", *(os.environ.get(name) for name in NAMES), aml_root)
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = (TIME_SCALE_ENV, "AZUREML_EMULATOR_RUNTIME", "AZUREML_EMULATOR_BUILDER")
    for name in (*names, "PYTEST_XDIST_WORKER"):  # roots go to <root>/main outside xdist
        monkeypatch.delenv(name, raising=False)


def _environment_line(result: pytest.RunResult) -> list[str]:
    line = next(line for line in result.outlines if "ENV " in line)
    return line.split("ENV ", 1)[1].split()


def test_defaults_leave_the_backend_to_the_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_ENVIRONMENT)
    result = pytester.runpytest("-s", *QUIET)
    result.assert_outcomes(passed=1)
    runtime, builder, strict, scale, root = _environment_line(result)
    assert (runtime, builder, strict, scale) == ("None", "None", "None", "0.02")
    assert "amlemu-root" in root
    result.stdout.fnmatch_lines(
        ["azureml-emulator *: backend from the environment, time scale 0.02"]
    )


def test_options_reach_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_ENVIRONMENT)
    result = pytester.runpytest(
        "-s", *QUIET, "--aml-backend=process", "--aml-strict",
        "--aml-time-scale=0.5", "--aml-root=roots",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    runtime, _, strict, scale, root = _environment_line(result)
    assert (runtime, strict, scale) == ("process", "1", "0.5")
    assert root.startswith(str(pytester.path / "roots" / "main" / "test_environment"))


def test_time_scale_from_ini_and_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(SHOW_ENVIRONMENT)
    pytester.makeini("[pytest]\naml_time_scale = 0.1\n")
    assert _environment_line(pytester.runpytest("-s", *QUIET))[3] == "0.1"
    monkeypatch.setenv(TIME_SCALE_ENV, "0.3")  # the environment wins over the ini file
    assert _environment_line(pytester.runpytest("-s", *QUIET))[3] == "0.3"


def test_a_bad_time_scale_stops_the_run_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOW_ENVIRONMENT)
    result = pytester.runpytest(*QUIET, "--aml-time-scale=fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--aml-time-scale='fast' is not a positive number*0.02*"])


def test_the_marker_overrides_the_backend_and_docker_skips_without_an_engine(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-engine.sock")
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.aml(backend="docker")
        def test_on_docker(aml_root):
            pass

        @pytest.mark.aml(backend="process")
        def test_on_processes(aml_root):
            assert os.environ["AZUREML_EMULATOR_RUNTIME"] == "process"

        @pytest.mark.aml(runtime="docker")
        def test_misspelled(aml_root):
            pass
        """
    )
    result = pytester.runpytest(*QUIET, "-rs", "--aml-backend=docker")
    result.assert_outcomes(passed=1, skipped=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.aml has no argument 'runtime'. It takes backend= *",
            "*the docker backend needs a Docker engine and none answers at unix://*"
            "no-engine.sock*scripts/setup-docker.sh*",
        ]
    )
    required = pytester.runpytest(*QUIET, "--aml-require-docker", "-k", "on_docker")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*--aml-require-docker is set*"])


SHOW_PINS = """
import os

def test_pins(aml_root):
    print("PINS", os.environ.get("AZUREML_EMULATOR_PINS"))
"""


def test_aml_pins_reaches_the_builder_and_the_environment_stays_in_charge_without_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PINS_ENV, raising=False)
    pytester.makepyfile(SHOW_PINS)
    chosen = pytester.runpytest("-s", *QUIET, "--aml-pins=nearest")
    chosen.assert_outcomes(passed=1)
    chosen.stdout.fnmatch_lines(["*PINS nearest"])
    pytester.runpytest("-s", *QUIET).stdout.fnmatch_lines(["*PINS None"])
    monkeypatch.setenv(PINS_ENV, "nearest")
    strict = pytester.runpytest("-s", *QUIET, "--aml-pins=strict")  # the option wins
    strict.stdout.fnmatch_lines(["*PINS strict"])
    bad = pytester.runpytest(*QUIET, "--aml-pins=closest")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--aml-pins: invalid choice: 'closest' (choose from*nearest*"])

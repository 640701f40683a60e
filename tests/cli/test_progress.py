"""Progress of long operations: a live status line on a terminal, the SDK's plain lines
elsewhere (byte for byte as before)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from emulator import AciWebservice, ContainerImage, Image, Webservice, Workspace
from emulator.sdk.progress import StatusLine, attached


class Terminal(io.StringIO):
    """What a terminal receives (``isatty()`` is true), kept as text."""

    def isatty(self) -> bool:
        return True


def test_status_line_rewrites_itself_and_prints_above() -> None:
    screen = Terminal()
    assert attached(screen) and not attached(io.StringIO())
    with StatusLine("Job", "Queued", stream=screen) as status:
        status.phase("Running a longer phase")
        status.print("a log line")
        status.phase("Done")
    text = screen.getvalue()
    assert text.startswith("\rJob: Queued (0.0 s)")
    assert "\rJob: Running a longer phase (" in text
    # the log line replaces the status line, which is drawn again below it
    assert re.search(r"\r +\ra log line\nJob: Running a longer phase \(", text)
    # the last phase stays, padded over the longer text it replaced, on its own line
    assert re.search(r"\rJob: Done \(\d+\.\d s\) +(\rJob: Done \(\d+\.\d s\))+\n$", text)


def test_terminal_shows_build_steps_and_deployment_state_live(
    aml_workspace: Workspace,
    workdir: Path,
    fast_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (workdir / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return 1\n")
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    image = Image.create(
        aml_workspace, "tty-img", [], ContainerImage.image_configuration("score.py", "python")
    )
    image.wait_for_creation(show_output=True)
    service = Webservice.deploy_from_image(
        aml_workspace, "tty-svc", image, AciWebservice.deploy_configuration()
    )
    service.wait_for_deployment(show_output=True)
    monkeypatch.undo()
    text = screen.getvalue()
    assert "\rImage tty-img:1: Materialize app root (" in text  # a build step as the phase
    assert "] Step: Materialize app root\n" in text  # the log still streams above it
    assert re.search(r"\rImage tty-img:1: Succeeded \(\d+\.\d s\)\n", text)
    assert 'Image creation operation finished for image tty-img:1, operation "Succeeded"' in text
    assert re.search(r"\rACI service tty-svc: Healthy \(\d+\.\d s\)\n", text)
    assert text.endswith('ACI service creation operation finished, operation "Succeeded"\n')
    assert "Transitioning\nHealthy" not in text  # not the plain lines

    capsys.readouterr()
    service.wait_for_deployment(show_output=True)  # not a terminal: exactly the SDK's lines
    assert capsys.readouterr().out == (
        "Tips: You can try get_logs(): https://aka.ms/debugimage#dockerlog or local deployment: "
        "https://aka.ms/debugimage#debug-locally to debug if deployment takes longer than 10 "
        "minutes.\nHealthy\n"
        'ACI service creation operation finished, operation "Succeeded"\n'
    )

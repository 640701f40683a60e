"""What ``amlemu env`` prints: shell syntax that survives odd characters, and the warnings about
credentials that would keep DefaultAzureCredential away from the emulator's identity."""

from __future__ import annotations

import subprocess

import pytest

from emulator.daemon.client_env import credential_warnings, render

AWKWARD = "C:\\Program Files\\it's $HOME `x`"


def test_bash_output_evaluates_back_to_the_exact_values() -> None:
    script = render({"AML_A": AWKWARD, "AML_B": "plain"}, "bash")
    out = subprocess.run(
        ["bash", "-c", script + 'printf "%s|%s" "$AML_A" "$AML_B"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == f"{AWKWARD}|plain"


def test_fish_and_powershell_quote_as_those_shells_read_quotes() -> None:
    assert render({"A": AWKWARD}, "fish") == (
        "set -gx A 'C:\\\\Program Files\\\\it\\'s $HOME `x`';\n"
    )
    assert render({"A": AWKWARD}, "powershell") == (
        "$Env:A = 'C:\\Program Files\\it''s $HOME `x`'\n"
    )


@pytest.mark.parametrize(
    ("environ", "credential"),
    [
        ({"AZURE_CLIENT_SECRET": "s"}, "EnvironmentCredential"),
        ({"AZURE_CLIENT_CERTIFICATE_PATH": "/c.pem"}, "EnvironmentCredential"),
        ({"AZURE_USERNAME": "u", "AZURE_PASSWORD": "p"}, "EnvironmentCredential"),
        ({"AZURE_FEDERATED_TOKEN_FILE": "/t"}, "WorkloadIdentityCredential"),
    ],
)
def test_credentials_that_come_before_managed_identity_are_named(
    environ: dict[str, str], credential: str
) -> None:
    [warning] = credential_warnings({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", **environ})
    assert credential in warning
    assert all(name in warning for name in environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"AZURE_CLIENT_ID": "c"},  # a user-assigned managed identity: still served
        {"AZURE_CLIENT_SECRET": "s"},  # without tenant and client id nothing is configured
        {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"},
    ],
)
def test_settings_that_leave_managed_identity_in_reach_are_not_warned(
    environ: dict[str, str],
) -> None:
    assert credential_warnings(environ) == []

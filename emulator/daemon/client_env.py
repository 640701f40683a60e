"""The variables that point an unchanged ``azure-ai-ml`` client at an emulator, per shell.

- ``ARM_CLOUD_METADATA_URL``: the SDK loads its clouds from there and makes the emulator's cloud
  (:data:`~emulator.arm.responses.CLOUD_NAME`) current — it then sets ``AZUREML_CURRENT_CLOUD``
  itself;
- ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``: the emulator's CA plus the trust in force
  (:mod:`emulator.daemon.trust`), as a hashed directory for ``requests`` (which loads its CAs
  anew per connection: a directory is read one certificate at a time) and as one file for
  ``ssl``/``urllib``/``aiohttp`` and uv;
- ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``: the managed-identity step of
  ``DefaultAzureCredential`` gets its token from the emulator (:mod:`emulator.arm.identity`).

``DefaultAzureCredential`` tries credentials in order and stops at the first one that is
configured, working or not: the environment credential (``AZURE_TENANT_ID`` + ``AZURE_CLIENT_ID``
with ``AZURE_CLIENT_SECRET``, ``AZURE_CLIENT_CERTIFICATE_PATH`` or ``AZURE_USERNAME`` +
``AZURE_PASSWORD``) and workload identity (``AZURE_FEDERATED_TOKEN_FILE`` + tenant + client id)
come before managed identity, and would send the token request to Microsoft Entra ID instead.
:func:`credential_warnings` names them. ``AZURE_CLIENT_ID`` alone only selects a user-assigned
identity, which the emulator's identity endpoint serves like any other.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path

from emulator.arm.urls import IDENTITY_PATH, METADATA_PATH
from emulator.daemon.ca import LocalCA
from emulator.daemon.trust import write_trust

SHELLS = ("bash", "fish", "powershell")
#: The api-version the Azure CLI and SDKs ask cloud metadata with.
METADATA_API_VERSION = "2019-05-01"
#: Variables the SDK sets itself once pointed at the emulator (restored by fixtures and `run`).
SDK_SET_VARIABLES = ("AZUREML_CURRENT_CLOUD",)


def client_environment(
    ca: LocalCA, base_url: str, identity_secret: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """The variables for a client of the emulator at ``base_url``; writes the CA bundle and
    its hashed directory (the emulator's CA + the trust of ``environ``) next to the CA."""
    bundle, directory = write_trust(ca.ca_cert, ca.directory / "bundle.pem", environ)
    return {
        "ARM_CLOUD_METADATA_URL": f"{base_url}{METADATA_PATH}?api-version={METADATA_API_VERSION}",
        "REQUESTS_CA_BUNDLE": str(directory),
        "SSL_CERT_FILE": str(bundle),
        "IDENTITY_ENDPOINT": f"{base_url}{IDENTITY_PATH}",
        "IDENTITY_HEADER": identity_secret,
    }


def credential_warnings(environ: Mapping[str, str]) -> list[str]:
    """Why ``DefaultAzureCredential`` would not reach the emulator's managed identity here."""
    warnings: list[str] = []
    tenant_and_client = environ.get("AZURE_TENANT_ID") and environ.get("AZURE_CLIENT_ID")
    if tenant_and_client:
        for names in (
            ("AZURE_CLIENT_SECRET",),
            ("AZURE_CLIENT_CERTIFICATE_PATH",),
            ("AZURE_USERNAME", "AZURE_PASSWORD"),
        ):
            if all(environ.get(n) for n in names):
                warnings.append(_stops_before("EnvironmentCredential", names))
                break
        if environ.get("AZURE_FEDERATED_TOKEN_FILE"):
            warnings.append(
                _stops_before("WorkloadIdentityCredential", ("AZURE_FEDERATED_TOKEN_FILE",))
            )
    return warnings


def _stops_before(credential: str, names: tuple[str, ...]) -> str:
    variables = ", ".join(("AZURE_TENANT_ID", "AZURE_CLIENT_ID", *names))
    return (
        f"{variables} are set: DefaultAzureCredential will use {credential} and ask Microsoft "
        "Entra ID for tokens before it reaches the managed identity the emulator provides. "
        f"Unset {', '.join(('AZURE_CLIENT_ID', *names))} in this shell (or pass "
        f"exclude_environment_credential=True / exclude_workload_identity_credential=True)."
    )


def render(variables: Mapping[str, str], shell: str) -> str:
    """``variables`` as commands for ``shell`` (``eval "$(amlemu env)"`` and friends)."""
    lines = []
    for name, value in variables.items():
        if shell == "fish":  # fish's single quotes escape \\ and \' (POSIX's do not)
            quoted = value.replace("\\", "\\\\").replace("'", "\\'")
            lines.append(f"set -gx {name} '{quoted}';")
        elif shell == "powershell":
            quoted = value.replace("'", "''")
            lines.append(f"$Env:{name} = '{quoted}'")
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"


def write_config(path: Path, subscription_id: str, resource_group: str, workspace: str) -> Path:
    """``config.json`` as the portal's "download config file" writes it, for
    ``MLClient.from_config()`` (which searches the working directory and its parents)."""
    body = {
        "subscription_id": subscription_id,
        "resource_group": resource_group,
        "workspace_name": workspace,
    }
    path.write_text(json.dumps(body, indent=4) + "\n")
    return path

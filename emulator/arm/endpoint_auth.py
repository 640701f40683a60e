"""The credential an online endpoint's scoring URI accepts, per auth mode.

- ``key`` and ``aml_token``: the endpoint's own keys, or tokens it signed
  (:meth:`emulator.endpoints.EndpointRecord.auth`, SDK v1's web-service rules and texts).
- ``aad_token`` (managed endpoints): a Microsoft Entra token for Azure ML's data plane. Azure
  ML's SDK asks its credential for a token with the scope ``https://ml.azure.com/.default``
  (azure-ai-ml 1.35 ``OnlineEndpointOperations._get_online_credentials``: ``get_keys`` returns
  it as ``EndpointAadToken``, ``invoke`` sends it as ``Bearer``; no ARM call is made for it).
  Here the emulator's identity endpoint is Microsoft Entra ID: a token it issued, unexpired and
  for that audience, passes (:func:`emulator.arm.identity.verify_token`); anything else is a 401
  saying which of these failed.
"""

from __future__ import annotations

from emulator.arm.identity import TokenRejected, verify_token
from emulator.arm.responses import ArmContext
from emulator.endpoints import EndpointRecord
from emulator.services import responses

#: The audience of the tokens azure-ai-ml asks for (``AAD_TOKEN_RESOURCE_ENDPOINT``), with and
#: without the trailing slash a client may keep from a ``.default`` scope.
AAD_AUDIENCES = ("https://ml.azure.com", "https://ml.azure.com/")


def credential_refusal(ctx: ArmContext, endpoint: EndpointRecord, header: str | None) -> str | None:
    """None when ``header`` (the request's ``Authorization``) may call ``endpoint``, else the
    401's message (with how to get a valid credential)."""
    if endpoint.auth_mode == "aad_token":
        return _aad_refusal(ctx, endpoint, header)
    refused = endpoint.auth().check(header)
    if refused is None:
        return None
    return (
        f"{refused[1]} [emulator] ml_client.online_endpoints.get_keys('{endpoint.name}') gives "
        "a valid key (key auth) or token (aml_token auth)."
    )


def _aad_refusal(ctx: ArmContext, endpoint: EndpointRecord, header: str | None) -> str | None:
    hint = (
        f" [emulator] Endpoint '{endpoint.name}' uses aad_token auth: send a Microsoft Entra "
        "token for https://ml.azure.com, e.g. ml_client.online_endpoints.get_keys("
        f"'{endpoint.name}').access_token from a DefaultAzureCredential() pointed at the "
        "emulator's identity endpoint (amlemu env)."
    )
    if not header:
        return responses.NO_AUTH_HEADER + hint
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return responses.INVALID_AUTH_HEADER + hint
    try:
        verify_token(ctx.identity_secret, token.strip(), AAD_AUDIENCES)
    except TokenRejected as exc:
        if exc.code == "ExpiredAuthenticationToken":
            return f"{responses.EXPIRED_TOKEN}: {exc.message}{hint}"
        if exc.code == "InvalidAuthenticationToken":
            return f"{responses.INVALID_TOKEN}: not a Microsoft Entra token.{hint}"
        return f"{responses.INVALID_TOKEN}: {exc.message}{hint}"
    return None

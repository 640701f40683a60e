"""Azure-shaped addresses: what services show under ``AzureMock(azure_uris=True)``, and which
URLs the HTTP mock must answer itself.

ACI gives every service ``http://<dns label>.<region>.azurecontainer.io/score`` (with SSL,
``https://<ssl_cname>/score``); AKS serves the services of a cluster behind one ingress IP,
``http://<ip>:80/api/v1/service/<name>/score``.
Both are derived from the address of the loopback gateway that really serves the service (a
short hash), so the HTTP mock finds the gateway from the URL alone. The IPs lie in Microsoft's
public 20.0.0.0/8 range and are never contacted: the HTTP mock answers them in-process.

Services own these addresses (the gateways and the faces show them); the HTTP mock
(:mod:`emulator.mock`) only answers them, so this module stays free of ``requests`` and
``responses``. While a mock with ``azure_uris`` is active the faces show these URIs; when the
last such mock ends, every service object that showed one gets its loopback URI back, so no
request can leave for an address that was never real.
"""

from __future__ import annotations

import hashlib
import re
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from emulator.services import tls

if TYPE_CHECKING:
    from emulator.services.records import ServiceRecord

#: The ``/score`` and swagger paths of AKS's router (``azureml-fe``).
AKS_PATH = re.compile(r"/api/v1/service/([^/]+)/(score|swagger\.json)")
_AZURE_SUFFIXES = (
    ".azurecontainer.io",
    ".blob.core.windows.net",
    ".azureml.ms",
    ".azurecr.io",
    ".vault.azure.net",
)
_AZURE_HOSTS = ("management.azure.com", "login.microsoftonline.com")
_LOOPBACK = re.compile(r"127\.\d+\.\d+\.\d+|localhost|::1")


class _Presenter(Protocol):
    azure_uris: bool


_lock = threading.Lock()
_presenters: list[_Presenter] = []
#: Service objects showing an Azure URI → their real (loopback) scoring URI.
_shown: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def aci_label(name: str, gateway_netloc: str) -> str:
    """The DNS label of ACI service ``name`` served at ``gateway_netloc`` (``host:port``)."""
    return f"{name}-{_digest(f'{name}@{gateway_netloc}')[:4].hex()}"


def aks_ip(gateway_netloc: str) -> str:
    """The fake public ingress IP of the AKS cluster whose gateway is ``gateway_netloc``."""
    a, b, c = _digest(gateway_netloc)[:3]
    return f"20.{a}.{b}.{1 + c % 254}"


def azure_scoring_uri(compute_type: str, name: str, loopback_uri: str, region: str) -> str:
    """The Azure-shaped scoring URI of a service whose gateway answers at ``loopback_uri``
    (an SSL service's, ``https://<cname>:<port>/score``, becomes ``https://<cname>/score``)."""
    parts = urlsplit(loopback_uri)
    if parts.scheme == "https" and parts.hostname and not is_loopback(parts.hostname):
        return f"https://{parts.hostname}/score"
    netloc = parts.netloc
    if compute_type == "AKS":
        return f"http://{aks_ip(netloc)}:80/api/v1/service/{name}/score"
    region = re.sub(r"\s+", "", region).lower() or "eastus"
    return f"http://{aci_label(name, netloc)}.{region}.azurecontainer.io/score"


def swagger_of(scoring_uri: str) -> str:
    return scoring_uri.rsplit("/", 1)[0] + "/swagger.json"


def is_loopback(host: str) -> bool:
    return bool(_LOOPBACK.fullmatch(host))


def azure_kind(url: str) -> str | None:
    """``aci`` or ``aks`` for scoring addresses, ``azure`` for other Azure hosts, else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https") or is_loopback(host):
        return None
    if host.endswith(".azurecontainer.io") or tls.is_published(host):
        return "aci"
    if AKS_PATH.fullmatch(parts.path):
        return "aks"
    if host in _AZURE_HOSTS or host.endswith(_AZURE_SUFFIXES):
        return "azure"
    return None


# -- what the SDK faces show -------------------------------------------------------------------


def activate(presenter: _Presenter) -> None:
    with _lock:
        _presenters.append(presenter)


def deactivate(presenter: _Presenter) -> None:
    """Forget ``presenter``; with no Azure-URI presenter left, restore the loopback URIs."""
    with _lock:
        if presenter in _presenters:
            _presenters.remove(presenter)
        if any(p.azure_uris for p in _presenters):
            return
        shown = list(_shown.items())
        _shown.clear()
    for service, uri in shown:
        service.scoring_uri, service.swagger_uri = uri, swagger_of(uri)


def real_scoring_uri(service: Any) -> str:
    """Where ``service`` really listens, even while it shows an Azure URI (for clients the
    mock cannot intercept, such as gRPC); empty when it has no URI yet."""
    with _lock:
        shown = _shown.get(service)
    return shown or service.scoring_uri or ""


def presented_scoring_uri(service: Any, record: ServiceRecord, region: str) -> str | None:
    """The scoring URI ``service`` shows: the record's, or its Azure shape while a mock with
    ``azure_uris`` is active (ACI and AKS only; local services stay on localhost, as in Azure)."""
    uri = record.scoring_uri
    if not uri or record.compute_type not in ("ACI", "AKS"):
        return uri
    with _lock:
        if not any(p.azure_uris for p in _presenters):
            return uri
        _shown[service] = uri
    return azure_scoring_uri(record.compute_type, record.name, uri, region)

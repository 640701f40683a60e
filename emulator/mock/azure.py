"""``AzureMock``: Azure's HTTP addresses answered in-process, for ``requests`` and ``urllib``.

Scoring URIs of emulated services go straight to the gateway that serves them (same auth,
status codes and bodies as over HTTP, with no client socket), registered blob URLs return
their files, other Azure addresses fail loudly, and every other URL goes out unchanged.
"""

from __future__ import annotations

import urllib.request
from contextlib import ContextDecorator
from types import TracebackType

import responses

from emulator.mock import blobs, requests_patch, routing, urllib_opener
from emulator.mock.errors import AzureMockError, UnmatchedAzureURL
from emulator.server.messages import HttpResponse
from emulator.services import uris


class AzureMock(ContextDecorator):
    """Active in ``with AzureMock() as mock:`` or on a function decorated ``@AzureMock()``.

    ``azure_uris=True`` (or setting ``mock.azure_uris`` while active) makes ACI and AKS
    services report Azure-shaped ``scoring_uri`` / ``swagger_uri``; they get their loopback
    URIs back when the mock ends.
    """

    def __init__(self, azure_uris: bool = False) -> None:
        self.azure_uris = azure_uris
        self._blobs = blobs.BlobTable()
        self._requests: responses.RequestsMock | None = None
        self._opener: urllib.request.OpenerDirector | None = None

    def add_blob(self, url: str, content: blobs.Content) -> None:
        """Serve ``content`` (a file path, or bytes) at ``url`` to ``GET`` and ``HEAD``,
        whatever the query string (SAS tokens); any host, not only ``*.blob.core.windows.net``."""
        self._blobs.add(url, content)

    # -- activation ------------------------------------------------------------------------

    def __enter__(self) -> AzureMock:
        if self._requests is not None:
            raise AzureMockError("this AzureMock is already active; create another AzureMock()")
        self._opener = urllib_opener.installed_opener()
        self._requests = requests_patch.start(self._owns, self._answer)
        urllib_opener.install(self._answer)
        uris.activate(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._requests is None:
            return
        uris.deactivate(self)
        urllib_opener.restore(self._opener)
        self._requests.stop(allow_assert=False)
        self._requests = self._opener = None

    # -- answering -------------------------------------------------------------------------

    def _owns(self, url: str) -> bool:
        return url in self._blobs or uris.azure_kind(url) is not None

    def _answer(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout: float | None,
    ) -> HttpResponse | None:
        """The answer to a request the mock owns; None for the others (they go out)."""
        if url in self._blobs:
            return self._blobs.answer(method, url)
        kind = uris.azure_kind(url)
        if kind is None:
            return None
        if kind in ("aci", "aks"):
            gateway = routing.find_gateway(url)
            if gateway is not None:
                answer = routing.call_gateway(gateway, method, url, headers, body, timeout)
                if answer is not None:
                    return answer
        raise UnmatchedAzureURL(_unmatched_message(kind, method, url))


def _unmatched_message(kind: str, method: str, url: str) -> str:
    head = f"AzureMock: {method} {url} would go to Azure, and nothing emulated answers it."
    if kind in ("aci", "aks"):
        services = ", ".join(routing.live_service_names()) or "none"
        return (
            f"{head} It looks like a scoring URI: deploy the service in this process and use "
            "the service's scoring_uri (AzureMock(azure_uris=True) makes it Azure-shaped). "
            f"Services running in this process: {services}."
        )
    if ".blob." in url:
        return f"{head} Register the file it should download: mock.add_blob({url!r}, path)."
    return (
        f"{head} Use the azureml SDK faces (emulator.mock_aml()) for workspace operations, or "
        f"serve a fixed file at this URL with mock.add_blob({url!r}, path)."
    )

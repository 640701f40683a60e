"""The in-process HTTP mock: Azure scoring URIs, fake blobs, loud failures for the rest of Azure.

``from emulator.mock import AzureMock``. ``AzureMock`` is loaded on first use, so importing
this package (``mock_aml`` does) imports neither ``requests`` nor ``responses``. The Azure-shaped
addresses it answers are services' (:mod:`emulator.services.uris`), which the faces show.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.mock.errors import AzureMockError, UnmatchedAzureURL

if TYPE_CHECKING:
    from emulator.mock.azure import AzureMock

__all__ = ["AzureMock", "AzureMockError", "UnmatchedAzureURL"]


def __getattr__(name: str) -> Any:
    if name == "AzureMock":
        from emulator.mock.azure import AzureMock

        return AzureMock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The mock's own errors: a request it cannot answer must fail the test, never reach Azure."""

from __future__ import annotations


class AzureMockError(Exception):
    """Misuse of :class:`~emulator.mock.AzureMock`."""


class UnmatchedAzureURL(AzureMockError):
    """A request to an Azure address that no emulated service or registered blob answers.

    Deliberately not a connection error, so retry loops that swallow those cannot hide it.
    """

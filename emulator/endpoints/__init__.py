"""SDK v2 online endpoints (and, next, their deployments): state that the ARM face translates.

An online endpoint is a name, an auth mode, two keys and a traffic table; it lives in SQLite under
the emulator root so that any process (the daemon, ``amlemu``, a test) sees the same endpoints.
"""

from emulator.endpoints.registry import EndpointRecord, OnlineEndpoints

__all__ = ["EndpointRecord", "OnlineEndpoints"]

"""The long-running emulator: ``amlemu up`` serves the ARM face (and later hosts endpoints) over
loopback HTTPS with a per-root local CA, so the real ``azure-ai-ml`` client can talk to it.

:mod:`~emulator.daemon.ca` (the CA), :mod:`~emulator.daemon.trust` (the clients' CA bundle),
:mod:`~emulator.daemon.ca_directory` (the same certificates as a hashed CA directory),
:mod:`~emulator.daemon.server` (the HTTPS server), :mod:`~emulator.daemon.files` (lock, pid and
port files), :mod:`~emulator.daemon.lifecycle` (up/down/status),
:mod:`~emulator.daemon.client_env` (the variables that point a client here),
:mod:`~emulator.daemon.v1_services` and :mod:`~emulator.daemon.handover` (the SDK v1 services
it hosts for the scripts attached to it).
"""


class DaemonError(Exception):
    """A daemon operation that cannot be done; the message says why and what to do."""

"""A pytest session ends on SIGTERM/SIGHUP as on Ctrl-C, and stops the services it still hosts.

CI runners cancel a job with SIGTERM (then SIGKILL); Python's default for it ends pytest at
once: no fixture teardown, no ``atexit``. While the session runs, :class:`TerminationGuard`
turns both signals into a ``KeyboardInterrupt`` (:mod:`emulator.services.termination`), so
pytest reports the interrupted session and tears its fixtures down (``aml_deploy`` deletes its
services); at unconfigure the services still hosted (``--aml-keep``, shared ones) are stopped,
their records saying ``stopped: the host process (pid N) received SIGTERM``.
"""

from __future__ import annotations

import contextlib

import pytest

from emulator.services.termination import handle_termination, stop_hosted_services


class TerminationGuard:
    """Registered as a plugin for the session (see :func:`install`)."""

    def __init__(self) -> None:
        self._handlers = contextlib.ExitStack()
        self._handlers.enter_context(handle_termination())
        self.interrupt: KeyboardInterrupt | None = None

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if isinstance(excinfo.value, KeyboardInterrupt):
            self.interrupt = excinfo.value

    def close(self) -> None:
        """Put the signal handlers back; after an interrupt, stop what is still hosted."""
        self._handlers.close()
        if self.interrupt is not None:
            stop_hosted_services(self.interrupt)


_KEY = pytest.StashKey[TerminationGuard]()


def install(config: pytest.Config) -> None:
    guard = TerminationGuard()
    config.pluginmanager.register(guard, "amlemu-termination")
    config.stash[_KEY] = guard


def uninstall(config: pytest.Config) -> None:
    guard = config.stash.get(_KEY, None)
    if guard is not None:
        config.pluginmanager.unregister(guard)
        guard.close()

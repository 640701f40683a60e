"""``mock_aml``: the shim (and optionally a root, strict mode and the HTTP mock) for a block or a
function."""

from __future__ import annotations

import os
from contextlib import ContextDecorator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from emulator import shim
from emulator.settings import ROOT_ENV, STRICT_ENV
from emulator.shim import activate, deactivate

if TYPE_CHECKING:
    from emulator.mock import AzureMock


def activate_both() -> None:
    """``emulator.activate()``: the ``azureml`` shim (SDK v1) and ``azure-ai-ml`` (SDK v2)
    pointed at the emulator — the root's daemon when ``amlemu up`` runs, else a server of this
    process until the last :func:`deactivate_both` (nested calls are counted)."""
    from emulator.daemon.session import activate_v2  # HTTPS server and CA: loaded on use only

    activate_v2()
    shim.activate()


def deactivate_both() -> None:
    """``emulator.deactivate()``: undo one :func:`activate_both`."""
    from emulator.daemon.session import deactivate_v2

    shim.deactivate()
    deactivate_v2()


class mock_aml(ContextDecorator):
    """Activate the ``azureml`` shim; usable as ``with mock_aml():`` and as ``@mock_aml()``.

    ``root`` points the emulator at another directory and ``strict`` toggles strict workspace
    lookup, for the duration only; both are restored on exit. ``http=True`` also activates an
    :class:`~emulator.mock.AzureMock` (available as ``.http`` while active, e.g. for
    ``add_blob``).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        strict: bool | None = None,
        http: bool = False,
    ):
        self._overrides: dict[str, str] = {}
        if root is not None:
            self._overrides[ROOT_ENV] = str(Path(root).resolve())
        if strict is not None:
            self._overrides[STRICT_ENV] = "1" if strict else "0"
        self._saved: list[dict[str, str | None]] = []
        self._http = http
        self._mocks: list[AzureMock | None] = []

    @property
    def http(self) -> AzureMock | None:
        """The HTTP mock of the innermost active block (``http=True``), else None."""
        return self._mocks[-1] if self._mocks else None

    def __enter__(self) -> mock_aml:
        self._saved.append({key: os.environ.get(key) for key in self._overrides})
        os.environ.update(self._overrides)
        activate()
        mock = None
        if self._http:
            from emulator.mock import AzureMock

            mock = AzureMock().__enter__()
        self._mocks.append(mock)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        mock = self._mocks.pop()
        if mock is not None:
            mock.__exit__(exc_type, exc, tb)
        deactivate()
        for key, value in self._saved.pop().items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

"""``aml_served_url``: serve a local file or folder as an ``https://`` job input for one test.

There is no internet in the emulator: a job's ``https://`` input is read from the local copy
registered for its URL in the root's served-URL table (:mod:`emulator.assets.served_urls`,
what ``amlemu data serve-url URL PATH`` writes). The fixture registers in the root the test's
emulator serves (the test's own, or with ``--aml-daemon`` the daemon's) and takes every
registration back after the test, restoring one it replaced, so a test never leaves a URL
behind in a root someone else uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from os import PathLike
from pathlib import Path

import pytest

from emulator.assets.served_urls import ServedUrls, normalize
from emulator.store.root import EmulatorRoot

#: The host of the URLs the fixture makes up when the test names none (``.test`` is reserved:
#: it never resolves to a real site).
HOST = "https://data.amlemu.test"

ServeUrl = Callable[..., str]


class _ServedForTest:
    """The registrations one test made, and what each replaced."""

    def __init__(self) -> None:
        self._made: dict[tuple[Path, str], Path | None] = {}

    def __call__(self, path: str | PathLike[str], url: str | None = None) -> str:
        """Serve ``path`` (a file or folder) at ``url`` (default: a new URL under
        :data:`HOST` ending with the path's name) and return the URL jobs name."""
        source = Path(path)
        if url is None:
            url = f"{HOST}/{uuid.uuid4().hex}/{source.name}"
        root = EmulatorRoot.current()  # the root the test's emulator serves (aml_root / daemon)
        served = ServedUrls(root)
        key = (root.path, normalize(url))
        if key not in self._made:
            before = {s.url: s.path for s in served.all()}
            self._made[key] = before.get(key[1])
        served.serve(url, source)
        return url

    def close(self) -> None:
        for (root, url), previous in self._made.items():
            served = ServedUrls(EmulatorRoot(root))
            if previous is not None:
                served.serve(url, previous)
            elif url in {s.url for s in served.all()}:
                served.forget(url)


@pytest.fixture
def aml_served_url() -> Iterator[ServeUrl]:
    """``aml_served_url(path, url=None) -> url``: ``path`` served at ``url`` for the test (a
    made-up ``https://data.amlemu.test/...`` URL when none is given), so that
    ``Input(type="uri_file" | "uri_folder", path=url)`` reads it; gone after the test."""
    served = _ServedForTest()
    try:
        yield served
    finally:
        served.close()

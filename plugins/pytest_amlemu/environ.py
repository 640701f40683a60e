"""Environment variables set for a block and restored after it.

The emulator reads its settings (root, builder, runtime) from the environment when it uses
them; deployments made outside a test's own fixtures (spec files, shared services) set them
for exactly as long as they deploy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_environ(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

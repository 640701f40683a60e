"""The Docker engine as tests meet it: absent (skip with the reason, or fail on demand) and
left tidy (the images a test built are removed with its services).

A developer without Docker should see why a test did not run and how to make it run; CI, which
prepares an engine, asks for a failure instead so that a broken engine cannot go unnoticed.
"""

from __future__ import annotations

import functools
import os

import pytest

SETUP_HINT = "start a Docker engine (scripts/setup-docker.sh prepares one with the base image)"


def require_engine(required: bool) -> None:
    """Skip (or fail, when ``required``) unless a Docker engine answers."""
    if _engine_answers(os.environ.get("DOCKER_HOST")):
        return
    where = os.environ.get("DOCKER_HOST") or "the local Docker socket"
    message = f"the docker backend needs a Docker engine and none answers at {where}: {SETUP_HINT}"
    if required:
        pytest.fail(f"{message} (--aml-require-docker is set)", pytrace=False)
    pytest.skip(message)


@functools.cache
def _engine_answers(docker_host: str | None) -> bool:
    """Asked once per engine address and session: a ping can take seconds to time out."""
    from emulator.images.builders.docker import docker_available

    return docker_available()


def remove_image(tag: str) -> None:
    """Remove the image ``tag`` from the engine (gone already is fine): each test builds its
    own, and a suite must not leave one per test behind."""
    import docker

    client = docker.from_env()
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass
    finally:
        client.close()

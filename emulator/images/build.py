"""Running a build: context → builder → image record, in the background like Azure's builds.

``start_build`` returns at once (the image is ``Running``); the build goes on in a thread of
this process. ``wait_for_build`` blocks until the record is terminal, following the log file
so ``show_output`` works for builds started by any process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from emulator.faults.points import FAULT_STEP, image_build_failure
from emulator.images.builders.base import Builder
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.context import ImageRequest, write_context
from emulator.images.records import CreationState, ImageRecord
from emulator.images.registry import ImageRegistry
from emulator.store.blobs import BlobStore

_threads: dict[tuple[str, int], threading.Thread] = {}
_threads_lock = threading.Lock()
_POLL_SECONDS = 0.05


def log_path(record: ImageRecord) -> Path:
    return Path(record.directory) / "build.log"


def start_build(
    registry: ImageRegistry,
    record: ImageRecord,
    request: ImageRequest,
    builder: Builder,
    blobs: BlobStore,
) -> ImageRecord:
    """Mark the image ``Running`` and build it in a background thread."""
    record = registry.update(record, state=CreationState.RUNNING, owner_pid=os.getpid())
    log = BuildLog(log_path(record))
    thread = threading.Thread(
        target=_build,
        args=(registry, record, request, builder, blobs, log),
        name=f"amlemu-build-{record.image_id}",
    )
    with _threads_lock:
        _threads[(str(registry.root.path), record.id)] = thread
    thread.start()
    return record


def _build(
    registry: ImageRegistry,
    record: ImageRecord,
    request: ImageRequest,
    builder: Builder,
    blobs: BlobStore,
    log: BuildLog,
) -> None:
    directory = Path(record.directory)
    log.header(f"Building image {record.image_id} with the {builder.name} builder")
    try:
        with log.step("Write build context"):
            context = write_context(request, directory / "context", blobs)
            for note in context.notes:
                log.write(note)
            log.write(f"Models: {', '.join(m.model_id for m in request.models) or 'none'}")
            log.write(f"Entry script: {context.entry_script}")
            log.write("Generated Dockerfile:")
            log.output(context.dockerfile.read_text())
        fault = image_build_failure(registry.root.path, registry.workspace_id)
        if fault is not None:
            raise BuildFailed(FAULT_STEP, fault)
        location = builder.build(context, log, directory / "image", record.image_id)
    except BuildFailed as failure:
        log.write(f"Image creation failed at step '{failure.step}'.")
        registry.update(
            record,
            state=CreationState.FAILED,
            error={"code": "ImageBuildFailed", "step": failure.step, "message": failure.message},
        )
    except Exception as exc:  # a bug or an environment problem: still a Failed image, logged
        log.write(f"Image creation failed: {type(exc).__name__}: {exc}")
        registry.update(
            record,
            state=CreationState.FAILED,
            error={"code": "InternalError", "message": f"{type(exc).__name__}: {exc}"},
        )
    else:
        log.write(f"Image {record.image_id} built: {location}")
        registry.update(
            record,
            state=CreationState.SUCCEEDED,
            location=location,
            environment_key=context.environment_key,
        )


def wait_for_build(
    registry: ImageRegistry,
    record: ImageRecord,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> ImageRecord:
    """Block until the image is terminal (or ``timeout``); ``on_line`` gets each new log line."""
    deadline = None if timeout is None else time.monotonic() + timeout
    follower = _LogFollower(log_path(record), on_line)
    while True:
        follower.pump()
        current = registry.get(record.name, record.version) or record
        if current.state.terminal:
            with _threads_lock:
                thread = _threads.pop((str(registry.root.path), record.id), None)
            if thread is not None:
                thread.join()
            follower.pump()
            return current
        if deadline is not None and time.monotonic() > deadline:
            return current
        time.sleep(_POLL_SECONDS)


class _LogFollower:
    """Hands complete new lines of a growing file to a callback."""

    def __init__(self, path: Path, on_line: Callable[[str], None] | None) -> None:
        self._path = path
        self._on_line = on_line
        self._offset = 0

    def pump(self) -> None:
        if self._on_line is None or not self._path.exists():
            return
        with open(self._path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            self._on_line(line)

"""``azureml.data.FileDataset``: files on the datastore (or behind a served URL), listed with
``to_path()``, copied with ``download()`` or ``mount()``ed as a local folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from emulator.sdk.dataset_abstract import RUN_INPUT, AbstractDataset
from emulator.sdk.dataset_paths import DataFile
from emulator.sdk.dataset_tabular import _count, _probability, _seed
from emulator.sdk.dataset_tabular_read import apply_steps
from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.not_emulated import not_emulated

__all__ = ["FileDataset", "MountContext"]


class FileDataset(AbstractDataset):
    """A set of files."""

    def __init__(self) -> None:
        super().__init__()

    def _selected(self) -> list[DataFile]:
        files = self._files()
        rows = [{"i": i} for i in range(len(files))]
        _, kept = apply_steps(["i"], rows, self._definition["steps"])
        return [files[row["i"]] for row in kept]

    def to_path(self) -> list[str]:
        """The files' paths relative to their common folder, each starting with ``/``."""
        return [f.relative for f in self._selected()]

    def download(
        self,
        target_path: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        ignore_not_found: bool = False,
    ) -> list[str]:
        """Copy the files under ``target_path`` (default: a new temporary folder); returns their
        local paths. An existing file is an error unless ``overwrite``."""
        target = Path(target_path) if target_path is not None else Path(tempfile.mkdtemp())
        written = []
        for data in self._selected():
            destination = target / data.relative.lstrip("/")
            if destination.exists() and not overwrite:
                raise UserErrorException(
                    f"File already exists: {destination}. [emulator] Pass overwrite=True to "
                    "replace it, or another target_path."
                )
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data.local, destination)
            written.append(str(destination))
        return written

    def mount(
        self, mount_point: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> MountContext:
        """A context whose ``mount_point`` holds the files while started (``with ... as ctx``)."""
        return MountContext(self, mount_point)

    def take(self, count: int) -> FileDataset:
        return self._with_step("take", _count(count))

    def skip(self, count: int) -> FileDataset:
        return self._with_step("skip", _count(count))

    def take_sample(self, probability: float, seed: int | None = None) -> FileDataset:
        return self._with_step("sample", _probability(probability), _seed(seed))

    def random_split(
        self, percentage: float, seed: int | None = None
    ) -> tuple[FileDataset, FileDataset]:
        fixed, share = _seed(seed), _probability(percentage)
        return self._with_step("split", share, fixed, True), self._with_step(
            "split", share, fixed, False
        )

    @not_emulated(RUN_INPUT)
    def as_mount(self, path_on_compute: str | None = None) -> Any: ...

    @not_emulated(RUN_INPUT)
    def as_download(self, path_on_compute: str | None = None) -> Any: ...

    @not_emulated(RUN_INPUT + " (HDFS is a Synapse Spark pool's)")
    def as_hdfs(self) -> Any: ...

    @not_emulated(RUN_INPUT + " (a datacache store is an Azure compute cluster's disk)")
    def as_cache(self, datacache_store: Any) -> Any: ...

    @not_emulated("it fills a datacache store, which is an Azure compute cluster's disk")
    def hydrate(self, datacache_store: Any, replica_count: int | None = None) -> Any: ...


class MountContext:
    """[emulator] A mount made local: ``start()`` copies the files into ``mount_point`` (a new
    temporary folder by default), ``stop()`` removes what it copied. Azure mounts through FUSE,
    which reads the storage account; here the files are copies of the blobs, read-only by
    convention as a mount is."""

    def __init__(self, dataset: FileDataset, mount_point: str | os.PathLike[str] | None) -> None:
        self._dataset = dataset
        self._created = mount_point is None
        self.mount_point = (
            str(mount_point)
            if mount_point is not None
            else tempfile.mkdtemp(prefix="amlemu-mount-")
        )
        self._files: list[str] = []

    def start(self) -> None:
        if self._created or not os.path.isdir(self.mount_point) or not os.listdir(self.mount_point):
            os.makedirs(self.mount_point, exist_ok=True)
            self._files = self._dataset.download(self.mount_point, overwrite=True)
        else:
            raise UserErrorException(
                f"Mount point {self.mount_point} is not empty. [emulator] Mount into an empty "
                "folder or leave mount_point unset for a temporary one."
            )

    def stop(self) -> None:
        if self._created:
            shutil.rmtree(self.mount_point, ignore_errors=True)
        else:
            for path in self._files:
                Path(path).unlink(missing_ok=True)
        self._files = []

    def __enter__(self) -> MountContext:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Spec files as tests: one deployment per ``aml-deployment*.yml``, one test item per sample.

The file is a collector, like a test module: its first item deploys (build, then startup), the
others reuse the service, and the collector's teardown deletes it after the file's last item.
A deployment that failed is not retried: every item reports the same phase and logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.environments import Environment
from emulator.server.config import SCORING_TIMEOUT
from emulator.settings import ROOT_ENV
from emulator.validation.v2_target import inline_environment
from emulator.validation.v2_yaml import OnlineDeploymentFile
from pytest_amlemu.deploy_factory import (
    delete_service,
    service_name,
    start_deployment,
    wait_until_healthy,
)
from pytest_amlemu.deploy_request import build_request
from pytest_amlemu.environ import scoped_environ
from pytest_amlemu.failures import BUILD, SCORING, DeploymentFailed
from pytest_amlemu.options import OPTIONS_KEY
from pytest_amlemu.reporting import keep, track
from pytest_amlemu.roots import ROOTS_KEY, create_workspace
from pytest_amlemu.settings import settings_for
from pytest_amlemu.spec_samples import check, score
from pytest_amlemu.spec_schema import DeploymentSpecFile, Sample, SpecError, load_spec


def online_environment(online: OnlineDeploymentFile) -> Environment:
    """An online deployment's environment as its replica gets it: the conda file on its image
    (an image alone: this interpreter's packages stand in for the image's), its
    ``environment_variables``, and ``request_timeout_ms`` as the scoring timeout (a slower
    run() is answered by the container's 500 "Scoring timeout"; Azure's front end answers 408
    first)."""
    environment = inline_environment(online)
    environment.environment_variables[SCORING_TIMEOUT] = str(
        online.request_settings.request_timeout_ms
    )
    return environment


class SampleFailed(AssertionError):
    """The service answered a sample other than the spec expects."""


class AmlSpecFile(pytest.File):
    """An ``aml-deployment*.yml`` file: its samples are its items."""

    spec: DeploymentSpecFile
    service: Any = None
    root: Path | None = None
    builder = "host"
    _failure: DeploymentFailed | None = None

    def collect(self) -> Iterator[pytest.Item]:
        try:
            self.spec = load_spec(self.path)
        except SpecError as exc:
            raise self.CollectError(f"azureml-emulator spec: {exc}") from None
        for sample in self.spec.samples:
            yield AmlSample.from_parent(self, name=sample.name, sample=sample)

    def deployed(self, item: pytest.Item) -> Any:
        """The file's healthy service, deploying it on the first call; ``item`` gets its logs
        in its failure report."""
        if self.service is None and self._failure is None:
            try:
                self._deploy()
            except DeploymentFailed as exc:
                self._failure = exc
            except Exception as exc:  # bad paths or arguments: nothing could be deployed
                name = self.service.name if self.service is not None else self.path.name
                self._failure = DeploymentFailed(BUILD, name, f"{type(exc).__name__}: {exc}", "")
        if self.service is not None:
            track(item, self.service)
        if self._failure is not None:
            failed = self._failure
            raise DeploymentFailed(failed.phase, failed.service_name, failed.reason, failed.logs)
        return self.service

    def _deploy(self) -> None:
        options = self.config.stash[OPTIONS_KEY]
        settings = settings_for(self, options)
        self.root = self.config.stash[ROOTS_KEY].new(f"spec-{self.path.stem}")
        spec = self.spec
        folder = self.path.parent
        source = folder / spec.source_directory if spec.source_directory else None
        with scoped_environ({ROOT_ENV: str(self.root), **settings.environment()}):
            request = build_request(
                spec.entry_script,
                spec.models,
                spec.environment if spec.online is None else online_environment(spec.online),
                spec.target,
                source,
                spec.deployment_config,
                search=[folder],
            )
            workspace = create_workspace(self.root)
            self.builder = settings.builder(request.environment is not None)
            name = service_name(request.entry_script, 1, self.builder == "docker")
            self.service = start_deployment(workspace, request, self.builder, name)
            wait_until_healthy(self.service)

    def teardown(self) -> None:
        if self.service is None:
            return
        if self.config.stash[OPTIONS_KEY].keep:
            keep(self.config, [self.service], self.root or self.path.parent)
        else:
            delete_service(self.service, self.builder)


class AmlSample(pytest.Item):
    """One sample of a spec file: deploy (once per file), score, check."""

    def __init__(self, *, sample: Sample, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sample = sample

    @property
    def spec_file(self) -> AmlSpecFile:
        assert isinstance(self.parent, AmlSpecFile)
        return self.parent

    def runtest(self) -> None:
        service = self.spec_file.deployed(self)
        status, body = score(service, self.sample.request)
        problems = check(self.sample, status, body)
        if problems:
            raise SampleFailed(
                f"[{SCORING}] sample {self.name} of service {service.name}:\n"
                + "\n".join(f"  {problem}" for problem in problems)
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (DeploymentFailed, SampleFailed)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

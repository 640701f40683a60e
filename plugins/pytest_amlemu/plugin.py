"""pytest plugin for azureml-emulator: Azure ML deployments as fixtures and as spec files.

Loaded by the ``pytest11`` entry point; this module registers options, markers and hooks, the
fixtures live in :mod:`pytest_amlemu.fixtures`.

Fixtures
    ``aml_root``       a fresh emulator root for the test (``AZUREML_EMULATOR_ROOT``).
    ``aml_workspace``  a new workspace in it, with the ``azureml`` import shim active.
    ``aml_deploy``     a factory: ``aml_deploy(entry_script, models=(), environment=None,
                       target="aci"|"aks"|"local", source_directory=None, *, name=None,
                       **deploy_configuration)`` returns a healthy service of the test's
                       workspace. ``models``: paths (registered under their name without
                       extension), a ``{name: path}`` mapping, or registered ``Model`` objects.
                       ``environment``: ``None`` runs on this interpreter's packages (host
                       builder, about a second), an ``Environment``, a conda YAML (or pip
                       ``.txt``) path or a list of pip requirements (built into a cached
                       virtualenv). ``target="aks"`` creates a DEV_TEST cluster ``amlemu-aks``
                       once per workspace. Other keyword arguments go to
                       ``<Target>Webservice.deploy_configuration``. Relative paths are looked up
                       in the working directory, then beside the test file. A service that does
                       not come up raises ``pytest_amlemu.DeploymentFailed`` (phase ``build`` or
                       ``startup``, the log tail in the message). Every service it made is
                       deleted after the test, its processes and containers with it.
    ``aml_mock``       ``emulator.mock.AzureMock`` (requests to Azure-shaped URIs served
                       in-process), active for the test.
    ``aml_ml_client``  a real ``azure.ai.ml.MLClient(DefaultAzureCredential(), sub, rg,
                       "test-workspace")`` bound to an emulator of the test's own (a fresh root,
                       an HTTPS server in this process on a free port); needs azure-ai-ml and
                       azure-identity (the test fails saying so without them). The online
                       deployments' replicas stop after the test.
    ``aml_v2_env``     the variables of ``amlemu env`` for that emulator, set in ``os.environ``
                       for the test, for code that builds its own client. Both restore every
                       variable they or the SDK (``AZUREML_CURRENT_CLOUD``) set and hide the
                       ``AZURE_CLIENT_*`` / ``AZURE_FEDERATED_TOKEN_FILE`` variables that would
                       send ``DefaultAzureCredential`` to Microsoft Entra ID.
    ``aml_served_url`` ``aml_served_url(path, url=None) -> url``: a local file or folder served
                       as an ``https://`` job input (the emulator has no internet) in the
                       root the test's emulator serves, until the test ends; without ``url``
                       a made-up ``https://data.amlemu.test/<id>/<name>``.

Shared services
    With ``@pytest.mark.aml_reuse`` (or ``--aml-reuse`` for every test), identical
    ``aml_deploy`` calls (same script and source-directory content, model content, environment
    hash, target, configuration and builder) share one service per worker, deployed in a
    workspace of its own and deleted at the end of the session.

Options (command line; ``aml_time_scale`` and ``aml_require_docker`` also in the ini file)
    ``--aml-backend=process|docker``  replicas as processes or Docker containers; sets
        ``AZUREML_EMULATOR_RUNTIME`` and, for docker, ``AZUREML_EMULATOR_BUILDER=docker``.
        Default: the environment's choice, else process.
    ``--aml-root=PATH``  create every root under ``PATH/<xdist worker>/`` and keep them.
    ``--aml-keep``  do not delete services at teardown and keep their roots; the terminal
        summary lists them. Services run inside the pytest process (as in a notebook), so they
        stop when it exits: the emulator's deliberate difference from Azure.
    ``--aml-strict``  strict workspace mode (``AZUREML_EMULATOR_STRICT=1``).
    ``--aml-time-scale=FACTOR``  Azure's crash-loop back-off and probe periods times FACTOR;
        default 0.02, so a broken ``init()`` fails its test in seconds (precedence: option,
        ``AZUREML_EMULATOR_TIME_SCALE``, ini ``aml_time_scale``, default).
    ``--aml-require-docker``  fail docker-backend tests when no engine answers (default: skip
        them with the reason).
    ``--aml-daemon``  ``aml_v2_env`` and ``aml_ml_client`` use the daemon ``amlemu up`` runs for
        ``AZUREML_EMULATOR_ROOT`` (else the per-user root) instead of an emulator per test; what
        the tests create stays there. Without that daemon the tests fail saying how to start it.
        Never implied: without the option a running daemon is left alone.

Markers
    ``@pytest.mark.aml(backend="process"|"docker", target="aci"|"aks"|"local")`` overrides the
    backend and ``aml_deploy``'s default target for one test (or module, class).
    ``@pytest.mark.aml_reuse`` opts a test into shared services.

Failure reports
    When a test fails, each service it deployed (or shared) adds a report section
    ``azureml service <name> logs`` with its container log, newest lines last (the image build
    log when the image failed).

Spec files: ``aml-deployment*.yml`` (or ``.yaml``) are collected as tests, one item per sample;
the file is deployed once (per xdist worker that runs its items; ``--dist loadfile`` keeps a
file on one worker) when its first item runs and deleted after its last::

    entry_script: score.py          # required; relative to source_directory, else to this file
    source_directory: src           # optional, relative to this file
    models:                         # optional, name: path (relative to this file)
      iris: model.json
    environment: env.yml            # optional: conda YAML / requirements .txt path, or a list
                                    # of pip requirements; absent = this interpreter's packages
    target: aci                     # aci (default) | aks | local
    deployment_config:              # optional: <Target>Webservice.deploy_configuration(**...)
      cpu_cores: 1
    samples:                        # required, non-empty; each sample is a test item
      - name: setosa                # optional (default sample-<n>): letters, digits, . _ -
        request: {"data": [[5.1, 3.5, 1.4, 0.2]]}   # JSON value, sent as JSON; a string is
                                                    # sent as is
        status: 200                 # optional, default 200
        expect: [0]                 # optional: the answer must equal this JSON exactly
        expect_schema:              # optional: JSON-schema subset: type (name or list),
          type: array               # properties, items, required (+ title, description)
          items: {type: integer}

A failing item names its phase (``[build]``, ``[startup]`` or ``[scoring]``); the service's
log is in the report. Every root, port and file is per test, spec file or worker, so the plugin
is safe under ``pytest -n auto``.

Termination
    SIGTERM and SIGHUP (a CI runner cancelling the job, ``timeout``, ``kill``) interrupt the
    session as Ctrl-C does: fixtures are torn down, then every service the session still hosts
    is stopped and its record says ``stopped: the host process (pid N) received SIGTERM``
    (:mod:`pytest_amlemu.termination`). A session that ends without a word (SIGKILL,
    ``os._exit`` as pytest-timeout's thread method does) takes its replicas and containers
    with it (:mod:`emulator.runtime.lifeline`).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from pluggy import Result

import emulator
from pytest_amlemu.engine import require_engine
from pytest_amlemu.fixtures import (
    _aml_settings,
    _aml_shared_services,
    aml_deploy,
    aml_mock,
    aml_root,
    aml_workspace,
)
from pytest_amlemu.options import (
    OPTIONS_KEY,
    REPORT_LOG_LINES,
    AmlOptions,
    add_options,
    read_options,
)
from pytest_amlemu.reporting import KEPT_KEY, WORKER_OUTPUT_KEY, add_log_sections, summary_lines
from pytest_amlemu.roots import ROOTS_KEY, Roots
from pytest_amlemu.served_url_fixtures import aml_served_url
from pytest_amlemu.settings import MARKERS, settings_for
from pytest_amlemu.spec_items import AmlSample, AmlSpecFile
from pytest_amlemu.termination import install, uninstall
from pytest_amlemu.v2_fixtures import aml_ml_client, aml_v2_env

__all__ = [
    "_aml_settings",
    "_aml_shared_services",
    "aml_deploy",
    "aml_ml_client",
    "aml_mock",
    "aml_root",
    "aml_served_url",
    "aml_v2_env",
    "aml_workspace",
]

SPEC_PATTERNS = ("aml-deployment*.yml", "aml-deployment*.yaml")
_AML_FIXTURES = {"aml_root", "aml_workspace", "aml_deploy", "_aml_settings"}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    options = read_options(config)
    config.stash[OPTIONS_KEY] = options
    config.stash[ROOTS_KEY] = Roots(options.root, options.keep)
    install(config)  # SIGTERM/SIGHUP interrupt the session as Ctrl-C does


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall(config)  # after the fixtures' teardown: stops what is still hosted
    roots = config.stash.get(ROOTS_KEY, None)
    if roots is not None:
        roots.close()


def pytest_report_header(config: pytest.Config) -> str:
    options = config.stash[OPTIONS_KEY]
    backend = options.backend or "from the environment"
    roots = f", roots under {options.root}" if options.root else ""
    return (
        f"azureml-emulator {emulator.__version__}: backend {backend}, "
        f"time scale {options.time_scale}{roots}"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if any(file_path.match(pattern) for pattern in SPEC_PATTERNS):
        return AmlSpecFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or fail) docker-backend tests before their fixtures run when Docker is absent."""
    if not _uses_emulator(item):
        return
    options: AmlOptions = item.config.stash[OPTIONS_KEY]
    if settings_for(item, options).backend == "docker":
        require_engine(options.require_docker)


def _uses_emulator(item: pytest.Item) -> bool:
    return (
        isinstance(item, AmlSample)
        or item.get_closest_marker("aml") is not None
        or bool(_AML_FIXTURES.intersection(getattr(item, "fixturenames", ())))
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    outcome = yield
    add_log_sections(item, outcome.get_result(), REPORT_LOG_LINES)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker, hand the services kept by ``--aml-keep`` to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKER_OUTPUT_KEY] = session.config.stash.get(KEPT_KEY, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: collect what each worker kept."""
    kept = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, [])
    node.config.stash.setdefault(KEPT_KEY, []).extend(kept)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    kept = config.stash.get(KEPT_KEY, [])
    if not config.stash[OPTIONS_KEY].keep and not kept:
        return
    terminalreporter.section("azureml-emulator")
    for line in summary_lines(kept):
        terminalreporter.write_line(line)

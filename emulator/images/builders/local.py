"""The local builder: the generated Dockerfile's steps performed on the host, without Docker.

Mode ``venv`` builds an isolated virtualenv per environment (cached under ``<root>/envs/``,
since installing requirements is by far the slowest step and most builds repeat an
environment); mode ``host`` runs on the current interpreter and only checks that it satisfies
the requirements. Either way the image is a directory: ``image.json`` says which interpreter
to start, with which ``PYTHONPATH`` and variables, in which materialized app root.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.requirements import Requirement

import emulator
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.compat import DISTRIBUTION
from emulator.images.context import BuildContext, check_requirements
from emulator.images.dockerfile import APP_ROOT
from emulator.settings import BUILDER_ENV
from emulator.store.root import EmulatorRoot

MODES = ("venv", "host")
IMAGE_FILE = "image.json"
ENVS_DIRNAME = "envs"

_COMPLETE = ".complete"  # written last: a cached venv without it was never finished
_VENV_TREE = "amlemu-python"
_PATH_VARIABLES = ("AML_APP_ROOT", "AZUREML_MODEL_DIR")
_TAIL_LINES = 20
_PLAIN_VERSION = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class LocalImage:
    """A built local image: what the runtime needs to start its scoring server."""

    python: Path
    python_path: tuple[Path, ...]
    app_root: Path
    env: dict[str, str]


def load_local_image(image_dir: Path | str) -> LocalImage:
    """Read the ``image.json`` that :class:`LocalBuilder` wrote into ``image_dir``."""
    data = json.loads((Path(image_dir) / IMAGE_FILE).read_text(encoding="utf-8"))
    return LocalImage(
        python=Path(data["python"]),
        python_path=tuple(Path(entry) for entry in data["pythonPath"]),
        app_root=Path(data["appRoot"]),
        env=dict(data["env"]),
    )


class LocalBuilder:
    """Builds an image as a directory on this machine (see the module docstring)."""

    name = "local"

    def __init__(self, root: EmulatorRoot, mode: str = "venv") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.root = root
        self.mode = mode

    def build(self, context: BuildContext, log: BuildLog, image_dir: Path, tag: str) -> str:
        image_dir = image_dir.absolute()
        with log.step("Resolve requirements"):
            check_requirements(context, log)
            _warn_on_python_mismatch(context, log)
        python_path: tuple[Path, ...] = ()
        if self.mode == "venv":
            python = _cached_venv(context, log, self.root.path.absolute() / ENVS_DIRNAME)
        else:
            _check_host(context, log)
            python = Path(sys.executable).absolute()
            with log.step("Copy python tree"):
                tree = image_dir / "python"
                shutil.copytree(context.python_dir, tree, dirs_exist_ok=True)
                python_path = (tree,)
        with log.step("Materialize app root"):
            app_root = image_dir / "azureml-app"
            shutil.copytree(context.app_dir, app_root, dirs_exist_ok=True)
            log.write(f"App root: {app_root}")
        image = LocalImage(
            python, python_path, app_root, _localized_env(context.env_vars, app_root)
        )
        _write_image(image_dir, self.mode, image)
        return str(image_dir)


def _warn_on_python_mismatch(context: BuildContext, log: BuildLog) -> None:
    """The venv links this machine's interpreter, whatever version the environment asks for."""
    version = context.resolved.python_version
    match = _PLAIN_VERSION.match(version or "")
    running = sys.version_info[:2]
    if match and (int(match.group(1)), int(match.group(2))) != running:
        log.write(
            f"WARNING: the environment asks for python {version}; the "
            f"image runs on this machine's python {running[0]}.{running[1]}."
        )


def _check_host(context: BuildContext, log: BuildLog) -> None:
    """Host mode installs nothing, so every requirement must already be met here."""
    step = "Check host interpreter"
    with log.step(step):
        problems = []
        for line in context.resolved.pip:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            try:
                installed = importlib.metadata.version(requirement.name)
            except importlib.metadata.PackageNotFoundError:
                problems.append(f"{line} required, not installed")
                continue
            if not requirement.specifier.contains(installed, prereleases=True):
                problems.append(f"{line} required, {installed} installed")
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise BuildFailed(
                step,
                f"The interpreter {sys.executable} does not satisfy the environment:\n{listed}\n"
                "Install these versions into it, or let the emulator build a virtualenv with "
                f"the venv builder ({BUILDER_ENV}=local).",
            )
        log.write(f"{sys.executable} satisfies all {len(context.resolved.pip)} requirement(s)")


def _cached_venv(context: BuildContext, log: BuildLog, envs_dir: Path) -> Path:
    """The python of the environment's virtualenv, building and caching it when missing.

    The venv is built in a private directory and renamed into place only when complete, so a
    concurrent build (another thread or process) never sees half of one; the loser of the
    rename race uses the winner's.
    """
    runtime = context.runtime_requirements()
    key = _venv_key(context, runtime)
    target = envs_dir / key
    if (target / _COMPLETE).is_file():
        with log.step("Create virtual environment"):
            log.write(f"Using cached environment {key}")
        return _venv_python(target)
    envs_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=envs_dir))
    try:
        staging = workdir / key
        _populate_venv(staging, context, runtime, log)
        with log.step("Cache environment"):
            _relocate_scripts(staging, target)
            (staging / _COMPLETE).write_text(f"{context.environment_key}\n", encoding="utf-8")
            _publish(staging, target, key, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _venv_python(target)


def _populate_venv(
    venv_dir: Path, context: BuildContext, runtime: list[str], log: BuildLog
) -> None:
    """The Dockerfile's python steps: venv, requirements, the emulator's tree and its deps."""
    uv = shutil.which("uv")
    python = _venv_python(venv_dir)
    with log.step("Create virtual environment"):
        if uv is not None:
            _run_or_fail(
                [uv, "venv", "--python", sys.executable, str(venv_dir)],
                log,
                "Create virtual environment",
                "uv could not create the virtualenv.",
            )
        else:
            venv.EnvBuilder(symlinks=os.name != "nt", with_pip=True).create(venv_dir)
        log.write(f"Created {venv_dir.name} with {'uv' if uv else 'python -m venv'}")
    install = (
        # Bytecode compiled at install: imports (scikit-learn's take seconds from source) are
        # then fast on every replica start, even where PYTHONDONTWRITEBYTECODE is set.
        [uv, "pip", "install", "--compile-bytecode", "--python", str(python)]
        if uv is not None
        else [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    )
    with log.step("Install requirements"):
        if context.resolved.pip:
            _run_or_fail(
                [*install, "-r", str(context.requirements_file.absolute())],
                log,
                "Install requirements",
                "Fix the version pins in the environment's conda/pip spec so that every "
                "package exists on PyPI for this python "
                f"({sys.version_info[0]}.{sys.version_info[1]}).",
            )
        else:
            log.write("Nothing to install")
    with log.step("Install emulator dependencies"):
        _run_or_fail(
            [*install, *runtime],
            log,
            "Install emulator dependencies",
            f"The emulator's own dependencies ({', '.join(runtime)}) must be installable from "
            "the configured package index; check network access and the pip/uv settings.",
        )
    with log.step("Install python tree"):
        shutil.copytree(context.python_dir, venv_dir / _VENV_TREE)
        site_packages = Path(
            subprocess.run(
                [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        # Relative: .pth lines resolve against site-packages, so the rename keeps it valid.
        relative = os.path.relpath(venv_dir / _VENV_TREE, site_packages)
        (site_packages / "amlemu.pth").write_text(f"{relative}\n", encoding="utf-8")
        _run_or_fail(
            [str(python), "-I", "-m", "compileall", "-q", "-j", "0", str(venv_dir / _VENV_TREE)],
            log,
            "Install python tree",
            "Python could not compile the emulator's modules in the virtualenv.",
        )
        _run_or_fail(
            [str(python), "-I", "-c", "import azureml.core.model, emulator"],
            log,
            "Install python tree",
            f"The emulator's modules do not import in the virtualenv. Its dependencies "
            f"({', '.join(runtime)}) come from the installed {DISTRIBUTION} metadata; "
            "reinstall the emulator if they are out of date.",
        )


def _run_or_fail(command: list[str], log: BuildLog, step: str, fix: str) -> None:
    """Run a tool with its output streamed into the log; fail with its errors and ``fix``."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.output(line)
            tail.append(line.rstrip())
    if process.returncode != 0:
        errors = [line for line in tail if line.startswith("ERROR:")] or list(tail)
        raise BuildFailed(
            step,
            f"{Path(command[0]).name} exited with code {process.returncode}:\n"
            + "\n".join(errors)
            + f"\n{fix}",
        )


def _publish(staging: Path, target: Path, key: str, log: BuildLog) -> None:
    """Atomically move the finished venv into the cache, or keep a concurrent build's."""
    try:
        staging.rename(target)
    except OSError:
        if not (target / _COMPLETE).is_file():
            raise BuildFailed(
                "Cache environment",
                f"{target} exists but is not a complete environment; delete it and build again.",
            ) from None
        log.write(f"Another build cached environment {key} first; using it")
    else:
        log.write(f"Cached environment {key} at {target}")


def _relocate_scripts(venv_dir: Path, target: Path) -> None:
    """Point the venv's scripts (shebangs, activate) at the path it is renamed to."""
    old, new = str(venv_dir).encode(), str(target).encode()
    for script in _venv_python(venv_dir).parent.iterdir():
        if script.is_file() and not script.is_symlink():
            content = script.read_bytes()
            if old in content:
                script.write_bytes(content.replace(old, new))


def _venv_python(venv_dir: Path) -> Path:
    """Where ``venv`` (and uv) put a virtualenv's interpreter."""
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def _venv_key(context: BuildContext, runtime: list[str]) -> str:
    """Cache key: everything that ends up in the venv, so an unchanged one is never rebuilt."""
    digest = hashlib.sha256()
    for part in (
        context.environment_key,
        context.requirements_file.read_text(encoding="utf-8"),
        f"{sys.version_info[0]}.{sys.version_info[1]}",
        sys.base_prefix,  # the interpreter the venv links to
        emulator.__version__,
        "\n".join(runtime),
        _tree_digest(context.python_dir),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _tree_digest(tree: Path) -> str:
    """sha256 of a directory's file names and contents: emulator edits must rebuild the venv."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        content = path.read_bytes()
        digest.update(f"{path.relative_to(tree).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _localized_env(env_vars: Mapping[str, str], app_root: Path) -> dict[str, str]:
    """The image's variables, with container paths under ``/var/azureml-app`` made local."""
    env = dict(env_vars)
    for name in _PATH_VARIABLES:
        value = PurePosixPath(env.get(name, ""))
        if value.is_relative_to(APP_ROOT):
            env[name] = str(app_root / value.relative_to(APP_ROOT))
    return env


def _write_image(image_dir: Path, mode: str, image: LocalImage) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "builder": LocalBuilder.name,
        "mode": mode,
        "python": str(image.python),
        "pythonPath": [str(entry) for entry in image.python_path],
        "appRoot": str(image.app_root),
        "env": image.env,
    }
    (image_dir / IMAGE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")

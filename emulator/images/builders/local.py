"""The local builder: the generated Dockerfile's steps performed on the host, without Docker.

Mode ``venv`` builds an isolated virtualenv per environment (cached under ``<root>/envs/``,
since installing requirements is by far the slowest step and most builds repeat an
environment), with the environment's python when it is installed (interpreter.py), installing
with uv or pip (installer.py), exact pins strict or nearest (pins.py); mode ``host`` runs on
the current interpreter and only checks that it satisfies the requirements. Either way the
image is a directory: ``image.json`` says which interpreter to start, with which
``PYTHONPATH`` and variables, in which materialized app root.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from emulator._version import __version__
from emulator.images.buildlog import BuildFailed, BuildLog
from emulator.images.compat import DISTRIBUTION
from emulator.images.context import BuildContext, check_requirements
from emulator.images.dockerfile import APP_ROOT
from emulator.images.host_check import unmet
from emulator.images.installer import Installer, run_logged
from emulator.images.interpreter import Interpreter, choose_interpreter, warn_on_host_mismatch
from emulator.images.pins import BuildProbe, diagnose, replace_pins
from emulator.settings import BUILDER_ENV, PINS_ENV, pins_mode
from emulator.store.root import EmulatorRoot

MODES = ("venv", "host")
IMAGE_FILE = "image.json"
ENVS_DIRNAME = "envs"

_COMPLETE = ".complete"  # written last: a cached venv without it was never finished
_PINS_FILE = "amlemu-pins.txt"  # the pins replaced in this venv, one line each
_VENV_TREE = "amlemu-python"
_PATH_VARIABLES = ("AML_APP_ROOT", "AZUREML_MODEL_DIR")


@dataclass(frozen=True)
class LocalImage:
    """A built local image: what the runtime needs to start its scoring server."""

    python: Path
    python_path: tuple[Path, ...]
    app_root: Path
    env: dict[str, str]
    #: Exact pins replaced by the nearest version with a build (AZUREML_EMULATOR_PINS=nearest).
    pin_replacements: tuple[str, ...] = ()


def load_local_image(image_dir: Path | str) -> LocalImage:
    """Read the ``image.json`` that :class:`LocalBuilder` wrote into ``image_dir``."""
    data = json.loads((Path(image_dir) / IMAGE_FILE).read_text(encoding="utf-8"))
    return LocalImage(
        python=Path(data["python"]),
        python_path=tuple(Path(entry) for entry in data["pythonPath"]),
        app_root=Path(data["appRoot"]),
        env=dict(data["env"]),
        pin_replacements=tuple(data.get("pinReplacements", ())),
    )


@dataclass(frozen=True)
class _VenvPlan:
    """How a virtualenv is built: with which interpreter and installer, pins how."""

    interpreter: Interpreter
    uv: str | None
    pins: str


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
            plan = _plan_venv(context, log) if self.mode == "venv" else None
            if plan is None:
                warn_on_host_mismatch(context.resolved.python_version, log)
        python_path: tuple[Path, ...] = ()
        replacements: tuple[str, ...] = ()
        if plan is not None:
            envs_dir = self.root.path.absolute() / ENVS_DIRNAME
            python, replacements = _cached_venv(context, log, envs_dir, plan)
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
            python,
            python_path,
            app_root,
            _localized_env(context.env_vars, app_root),
            replacements,
        )
        _write_image(image_dir, self.mode, image)
        return str(image_dir)


def _plan_venv(context: BuildContext, log: BuildLog) -> _VenvPlan:
    """The interpreter (the environment's python if installed), uv if installed, the pin mode."""
    uv = shutil.which("uv")
    interpreter = choose_interpreter(context.resolved.python_version, uv, log)
    pins = pins_mode()
    if pins != "strict":
        log.write(f"Exact pins without a build for python {interpreter.label}: {pins} ({PINS_ENV})")
    return _VenvPlan(interpreter, uv, pins)


def _check_host(context: BuildContext, log: BuildLog) -> None:
    """Host mode installs nothing, so every requirement must already be met here."""
    step = "Check host interpreter"
    with log.step(step):
        problems = [problem for line in context.resolved.pip for problem in unmet(line)]
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise BuildFailed(
                step,
                f"The interpreter {sys.executable} does not satisfy the environment:\n{listed}\n"
                "Install these versions into it, or let the emulator build a virtualenv with "
                f"the venv builder ({BUILDER_ENV}=local).",
            )
        log.write(f"{sys.executable} satisfies all {len(context.resolved.pip)} requirement(s)")


def _cached_venv(
    context: BuildContext, log: BuildLog, envs_dir: Path, plan: _VenvPlan
) -> tuple[Path, tuple[str, ...]]:
    """The python of the environment's virtualenv (building and caching it when missing) and
    the pins replaced in it.

    The venv is built in a private directory and renamed into place only when complete, so a
    concurrent build (another thread or process) never sees half of one; the loser of the
    rename race uses the winner's.
    """
    runtime = context.runtime_requirements()
    key = _venv_key(context, runtime, plan)
    target = envs_dir / key
    if (target / _COMPLETE).is_file():
        with log.step("Create virtual environment"):
            log.write(f"Using cached environment {key}")
            replacements = _read_replacements(target)
            for line in replacements:
                log.write(f"Pin replaced when the environment was built: {line}")
        return _venv_python(target), replacements
    envs_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=envs_dir))
    try:
        staging = workdir / key
        replacements = _populate_venv(staging, context, runtime, log, plan)
        with log.step("Cache environment"):
            _relocate_scripts(staging, target)
            (staging / _PINS_FILE).write_text("".join(f"{line}\n" for line in replacements))
            (staging / _COMPLETE).write_text(f"{context.environment_key}\n", encoding="utf-8")
            _publish(staging, target, key, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _venv_python(target), replacements


def _populate_venv(
    venv_dir: Path, context: BuildContext, runtime: list[str], log: BuildLog, plan: _VenvPlan
) -> tuple[str, ...]:
    """The Dockerfile's python steps: venv, requirements, the emulator's tree and its deps.

    Returns the pins replaced by nearer versions (``nearest`` mode).
    """
    python = _venv_python(venv_dir)
    label = plan.interpreter.label
    with log.step("Create virtual environment"):
        installer = Installer(python, log, plan.uv)
        interpreter = str(plan.interpreter.path)
        if plan.uv is not None:
            run = run_logged(
                [plan.uv, "venv", "--no-python-downloads", "--python", interpreter, str(venv_dir)],
                log,
                installer.uv_env,
            )
            fix = "uv could not create the virtualenv."
        else:
            run = run_logged([interpreter, "-m", "venv", str(venv_dir)], log)
            fix = "Python could not create a virtualenv: install its venv module (python3-venv)."
        if not run.ok:
            raise run.failure("Create virtual environment", fix)
        tool = "uv" if plan.uv is not None else "python -m venv"
        log.write(f"Created {venv_dir.name} with {tool} on python {label} ({interpreter})")
    lines, replacements = list(context.resolved.pip), list[str]()
    probes = venv_dir.parent / "probes"
    if plan.pins == "nearest" and lines:
        with log.step("Resolve pins"):
            probe = BuildProbe(installer, context.resolved.pip_options, probes)
            lines, replacements = replace_pins(lines, probe, label)
            for line in replacements:
                log.write(f"Pin replaced: {line}")
            if not replacements:
                log.write(f"Every exact pin has a build for python {label}")
    requirements = context.requirements_file.absolute()
    if replacements:  # the context's file, with the replaced lines changed
        changed = dict(zip(context.resolved.pip, lines, strict=True))
        original = requirements.read_text().splitlines()
        requirements = venv_dir.parent / "requirements.txt"
        requirements.write_text("".join(f"{changed.get(line, line)}\n" for line in original))
    with log.step("Install requirements"):
        if lines:
            run = installer.install(["-r", str(requirements)], "Install requirements")
            if not run.ok:
                raise run.failure(
                    "Install requirements",
                    _diagnosis(installer, context, lines, probes, label)
                    or "Fix the version pins in the environment's conda/pip spec so that every "
                    f"package exists on the package index for python {label}, and check that "
                    "the index is reachable (network, proxy, certificates).",
                )
        else:
            log.write("Nothing to install")
    with log.step("Install emulator dependencies"):
        run = installer.install(runtime, "Install emulator dependencies")
        if not run.ok:
            raise run.failure(
                "Install emulator dependencies",
                f"The emulator's own dependencies ({', '.join(runtime)}) must be installable "
                "from the configured package index; check network access and the pip/uv "
                "settings.",
            )
    with log.step("Install python tree"):
        _install_python_tree(venv_dir, context.python_dir, python, runtime, log)
    return tuple(replacements)


def _diagnosis(
    installer: Installer, context: BuildContext, lines: list[str], probes: Path, python: str
) -> str | None:
    """Which pins have no build for this python, and their nearest versions (if that is why)."""
    try:
        return diagnose(lines, BuildProbe(installer, context.resolved.pip_options, probes), python)
    except BuildFailed:  # pip cannot even be bootstrapped: the install's own error says enough
        return None


def _install_python_tree(
    venv_dir: Path, python_dir: Path, python: Path, runtime: list[str], log: BuildLog
) -> None:
    """Copy the emulator's tree into the venv, on its path through a ``.pth`` file, compiled."""
    shutil.copytree(python_dir, venv_dir / _VENV_TREE)
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
    step = "Install python tree"
    tree = str(venv_dir / _VENV_TREE)
    run = run_logged([str(python), "-I", "-m", "compileall", "-q", "-j", "0", tree], log)
    if not run.ok:
        raise run.failure(step, "Python could not compile the emulator's modules in the venv.")
    run = run_logged([str(python), "-I", "-c", "import azureml.core.model, emulator"], log)
    if not run.ok:
        raise run.failure(
            step,
            f"The emulator's modules do not import in the virtualenv. Its dependencies "
            f"({', '.join(runtime)}) come from the installed {DISTRIBUTION} metadata; "
            "reinstall the emulator if they are out of date.",
        )


def _read_replacements(venv_dir: Path) -> tuple[str, ...]:
    path = venv_dir / _PINS_FILE
    return tuple(path.read_text().splitlines()) if path.is_file() else ()


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


def _venv_key(context: BuildContext, runtime: list[str], plan: _VenvPlan) -> str:
    """Cache key: everything that ends up in the venv, so an unchanged one is never rebuilt."""
    digest = hashlib.sha256()
    for part in (
        context.environment_key,
        context.requirements_file.read_text(encoding="utf-8"),
        plan.interpreter.label,
        str(plan.interpreter.path),  # the interpreter the venv links to
        plan.pins,
        __version__,
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
        "pinReplacements": list(image.pin_replacements),
    }
    (image_dir / IMAGE_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")

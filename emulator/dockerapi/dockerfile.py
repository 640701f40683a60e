"""The Dockerfiles ``azure-ai-ml``'s local endpoints write, read as a build plan.

The emulator builds images without Docker, so it cannot run arbitrary ``RUN`` lines. What it
can do is what those Dockerfiles ask for (``azure/ai/ml/_local_endpoints/dockerfile_resolver.py``
in azure-ai-ml 1.35.2 writes them)::

    FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
    RUN mkdir -p /var/azureml-app/
    WORKDIR /var/azureml-app/
    COPY conda.yml /var/azureml-app/
    RUN conda env create -n inf-conda-env --file conda.yml
    CMD ["conda", "run", "--no-capture-output", "-n", "inf-conda-env", "runsvdir", "/var/runit"]

plus what users' own Dockerfiles (``environment.build``) usually add: ``RUN pip install ...``,
``ENV``, ``EXPOSE``, ``LABEL``. Each instruction becomes part of a :class:`BuildPlan` (the conda
file, extra pip packages, variables); anything else is refused with :class:`UnsupportedStep`,
naming the line and the fix, before any slow step starts.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field

from emulator.exceptions import BadArgument

#: The instructions read into the plan; the others are refused.
SUPPORTED = ("FROM", "RUN", "WORKDIR", "COPY", "ADD", "ENV", "EXPOSE", "CMD", "ENTRYPOINT", "LABEL")
_HINT = (
    "[emulator] Images are built without Docker: the emulator follows the Dockerfiles "
    "azure-ai-ml writes for local endpoints (FROM, WORKDIR, COPY, RUN conda env create / "
    "pip install / mkdir, ENV, EXPOSE, CMD). Put Python packages in the environment's "
    "conda_file instead."
)
#: pip flags that change nothing about what gets installed.
_PIP_NOISE = {"-q", "--quiet", "-U", "--upgrade", "--no-cache-dir", "--disable-pip-version-check"}


class UnsupportedStep(BadArgument):
    """A Dockerfile line the emulator cannot perform (Docker's build error status, 400)."""


@dataclass
class BuildPlan:
    """What a Dockerfile asks for, in container paths (POSIX).

    ``copies`` maps a container path to the context-relative file or directory copied there;
    ``conda_file`` is the context-relative conda spec ``conda env create`` reads.
    """

    base_image: str = ""
    workdir: str = "/"
    copies: dict[str, str] = field(default_factory=dict)
    conda_file: str | None = None
    pip: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    exposed: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)


def parse_dockerfile(text: str, context_files: set[str]) -> BuildPlan:
    """Read ``text`` into a plan; ``context_files``: the context's files (relative POSIX paths),
    which ``COPY`` sources and ``conda env create --file`` must name."""
    plan = BuildPlan()
    for number, line in _instructions(text):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword not in SUPPORTED:
            raise UnsupportedStep(f"Dockerfile line {number}: {keyword} is not supported. {_HINT}")
        if keyword == "FROM":
            if plan.base_image:
                raise UnsupportedStep(
                    f"Dockerfile line {number}: a second FROM (multi-stage builds) is not "
                    f"supported. {_HINT}"
                )
            plan.base_image = rest.split()[0] if rest else ""
        elif not plan.base_image:
            raise BadArgument(
                f"Dockerfile line {number}: no build stage in current context (the first "
                "instruction must be FROM)."
            )
        elif keyword == "WORKDIR":
            plan.workdir = posixpath.normpath(posixpath.join(plan.workdir, rest))
        elif keyword in ("COPY", "ADD"):
            _copy(plan, number, rest, context_files)
        elif keyword == "RUN":
            for command in _commands(rest):
                _run(plan, number, command, context_files)
        elif keyword in ("ENV", "LABEL"):
            target = plan.env if keyword == "ENV" else plan.labels
            target.update(_pairs(rest))
        elif keyword == "EXPOSE":
            plan.exposed += [p if "/" in p else f"{p}/tcp" for p in rest.split()]
        else:
            words = _exec_form(rest)
            if keyword == "CMD":
                plan.cmd = words
            else:
                plan.entrypoint = words
    if not plan.base_image:
        raise BadArgument("the Dockerfile cannot be empty: it needs at least a FROM line.")
    return plan


def _instructions(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction) with comments dropped and continuations joined."""
    found: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        found.append((start, " ".join(part for part in pending if part)))
        pending = []
    if pending:
        found.append((start, " ".join(pending)))
    return found


def _copy(plan: BuildPlan, number: int, rest: str, context_files: set[str]) -> None:
    words = [w for w in _exec_form(rest) if not w.startswith("--")]  # --chown, --chmod
    if len(words) < 2:
        raise BadArgument(f"Dockerfile line {number}: COPY requires at least two arguments.")
    *sources, destination = words
    target = posixpath.join(plan.workdir, destination)
    into_directory = destination.endswith("/") or len(sources) > 1
    for source in sources:
        relative = posixpath.normpath(source).lstrip("/")
        if relative.startswith("..") or "://" in source:
            raise UnsupportedStep(
                f"Dockerfile line {number}: {source!r} is outside the build context. {_HINT}"
            )
        inside = relative == "." or any(
            f == relative or f.startswith(relative + "/") for f in context_files
        )
        if not inside:
            raise BadArgument(
                f"Dockerfile line {number}: COPY failed: file not found in build context: "
                f"stat {relative}: file does not exist"
            )
        name = posixpath.basename(relative) if relative != "." else ""
        where = posixpath.join(target, name) if into_directory else target
        plan.copies[posixpath.normpath(where)] = relative


def _commands(rest: str) -> list[list[str]]:
    """A RUN line's shell commands (split on ``&&`` and ``;``), as words."""
    words = _exec_form(rest) if rest.startswith("[") else shlex.split(rest, posix=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in ("&&", ";"):
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _run(plan: BuildPlan, number: int, words: list[str], context_files: set[str]) -> None:
    if words[:2] == ["conda", "run"]:  # conda run [-n NAME] [--no-capture-output] CMD...
        rest = words[2:]
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("-n", "--name", "-p", "--prefix") else rest[1:]
        words = rest
    if words and words[0] == "mkdir":
        return  # the container's directories are the image's and the mounts: nothing to make
    if words[:3] == ["conda", "env", "create"]:
        plan.conda_file = _conda_file(plan, number, words[3:], context_files)
        return
    pip = _pip_arguments(words)
    if pip is not None:
        for argument in pip:
            if argument.startswith("-") and argument not in _PIP_NOISE:
                raise UnsupportedStep(
                    f"Dockerfile line {number}: pip option {argument!r} is not supported. {_HINT}"
                )
        plan.pip += [a for a in pip if not a.startswith("-")]
        return
    raise UnsupportedStep(
        f"Dockerfile line {number}: RUN {shlex.join(words)!r} cannot be performed. {_HINT}"
    )


def _conda_file(plan: BuildPlan, number: int, args: list[str], context_files: set[str]) -> str:
    named = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--file")]
    if not named:
        raise UnsupportedStep(
            f"Dockerfile line {number}: conda env create needs --file <conda.yml>. {_HINT}"
        )
    path = posixpath.normpath(posixpath.join(plan.workdir, named[0]))
    for destination, source in plan.copies.items():
        if path == destination and source in context_files:
            return source
        if path.startswith(destination + "/"):
            inner = posixpath.normpath(posixpath.join(source, path[len(destination) + 1 :]))
            if inner in context_files:
                return inner
    raise BadArgument(
        f"Dockerfile line {number}: conda env create: {path} does not exist in the image "
        "(copy the conda file there first with COPY)."
    )


def _pip_arguments(words: list[str]) -> list[str] | None:
    """The arguments after ``pip install`` (``pip``, ``pip3``, ``python -m pip``), else None."""
    if len(words) >= 4 and words[0].startswith("python") and words[1:3] == ["-m", "pip"]:
        words = words[2:]
    if len(words) >= 2 and words[0] in ("pip", "pip3") and words[1] == "install":
        return words[2:]
    return None


def _exec_form(rest: str) -> list[str]:
    """``["a", "b"]`` (JSON) or shell words."""
    if rest.startswith("["):
        try:
            value = json.loads(rest)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return shlex.split(rest, posix=True)


def _pairs(rest: str) -> dict[str, str]:
    """``ENV``/``LABEL`` arguments: ``k=v k2="v 2"`` or the legacy ``ENV k v``."""
    words = shlex.split(rest, posix=True)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words)

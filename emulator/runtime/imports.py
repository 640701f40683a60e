"""What a replica's start imports, found statically: the candidates a zygote imports ahead.

Read with :mod:`tokenize`, never by running the user's code and never with ``ast.parse``
(deployments start from threads, and CPython 3.11's parser is not safe across threads). The
``import`` and ``from ... import`` statements that run when the script is imported and
``init()`` runs are taken: those at module level, including inside ``if``/``try``/``with``
blocks, and those in the body of a module-level ``def init``; not those of other functions or
classes (they run later, or never). The models ``init()`` typically loads are read too: the
classes a pickle (``joblib.dump``, ``pickle.dump``) refers to are listed by its opcodes
(:mod:`pickletools`, nothing is unpickled), so the estimator's package counts. A name that
is one of the user's own modules (a file or package in the app root, the source directory or
the script's folder) is followed into that module instead, so the third-party packages *it*
imports count too, and it is itself never a candidate: the user's modules are always imported
by the replica, with their side effects. The zygote decides which candidates are third-party
packages (see :func:`emulator.runtime.zygote_main.preload`).

A candidate is ``pkg.mod`` for ``import pkg.mod``, and ``pkg.mod:name`` for
``from pkg.mod import name`` (``name`` is imported as a submodule only when the package does
not define it, as Python's own ``from`` import does).
"""

from __future__ import annotations

import io
import pickletools
import tokenize
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Files followed at most (a source directory with a vendored tree must not take seconds).
MAX_FILES = 200
#: Opcodes read per pickle: the classes come first, the data after.
_MAX_OPCODES = 200_000
_PICKLES = {".pkl", ".pickle", ".joblib", ".sav"}
_COMPOUND = {"if", "elif", "else", "try", "except", "finally", "with", "for", "while", "async"}


def import_candidates(script: Path, roots: Sequence[Path]) -> list[str]:
    """The third-party candidates ``script`` imports, in the order they are first imported."""
    found: list[str] = []
    seen_files: set[Path] = set()
    pending = [script]
    while pending and len(seen_files) < MAX_FILES:
        path = pending.pop(0)
        if path in seen_files:
            continue
        seen_files.add(path)
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        search = [path.parent, *roots]
        for module, name in module_level_imports(source):
            if module.startswith("."):
                continue  # relative: the user's package, read when its module is
            local, file = _local(module, search)
            if local:
                pending.extend(f for f in (file,) if f is not None)
                if name:
                    sub = _local(f"{module}.{name}", search)[1]
                    pending.extend(f for f in (sub,) if f is not None)
                continue
            entry = f"{module}:{name}" if name else module
            if entry not in found:
                found.append(entry)
    return found


def module_level_imports(source: str) -> Iterator[tuple[str, str | None]]:
    """``(module, None)`` for ``import module`` and ``(module, name)`` for ``from module import
    name`` (``name`` None for ``*``), outside function and class bodies."""
    try:
        for statement in _statements(source):
            yield from _parse_import(statement)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return  # the replica's import reports the script's syntax error itself


def _statements(source: str) -> Iterator[list[str]]:
    """Simple statements (their token strings) that run at import time."""
    depth = 0  # indentation depth
    skip_from: int | None = None  # inside a def/class body opened at this depth
    pending_body = False  # the last logical line opened a def/class block
    line: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = token.type
        if kind == tokenize.INDENT:
            depth += 1
            if pending_body and skip_from is None:
                skip_from = depth
            pending_body = False
        elif kind == tokenize.DEDENT:
            if skip_from is not None and depth == skip_from:
                skip_from = None
            depth -= 1
        elif kind == tokenize.NEWLINE:
            if line:
                opens = line[0] in ("def", "class", "@") or line[:2] == ["async", "def"]
                # init() runs at every start: its imports are the start's, not a later call's.
                pending_body = opens and not (depth == 0 and line[:3] == ["def", "init", "("])
                if skip_from is None:
                    yield from _split(line)
            line = []
        elif kind not in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER):
            line.append(token.string)


def _split(line: list[str]) -> Iterator[list[str]]:
    """The simple statements of a logical line: split at ``;`` and after a compound header's
    ``:`` (``try: import x``), at bracket depth 0."""
    brackets = 0
    current: list[str] = []
    for item in line:
        if item in ("(", "[", "{"):
            brackets += 1
        elif item in (")", "]", "}"):
            brackets -= 1
        if brackets == 0 and (item == ";" or (item == ":" and current and current[0] in _COMPOUND)):
            yield current
            current = []
            continue
        current.append(item)
    if current:
        yield current


def _parse_import(tokens: list[str]) -> Iterator[tuple[str, str | None]]:
    if tokens[:1] == ["import"]:
        for part in _comma_parts(tokens[1:]):
            dotted = _dotted(part)
            if dotted:
                yield dotted, None
    elif tokens[:1] == ["from"] and "import" in tokens:
        at = tokens.index("import")
        module = "".join(tokens[1:at])
        if not module:
            return
        names = [item for item in tokens[at + 1 :] if item not in ("(", ")")]
        if names == ["*"]:
            yield module, None
            return
        for part in _comma_parts(names):
            if part and part[0].isidentifier():
                yield module, part[0]


def _comma_parts(tokens: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for item in tokens:
        if item == ",":
            yield current
            current = []
        else:
            current.append(item)
    yield current


def _dotted(part: list[str]) -> str:
    """``a . b as c`` → ``a.b``."""
    if "as" in part:
        part = part[: part.index("as")]
    return "".join(part)


def model_candidates(model_dir: Path) -> list[str]:
    """The modules the pickles under ``model_dir`` refer to (``pkg.mod``), in order found."""
    found: list[str] = []
    files = 0
    for path in sorted(model_dir.rglob("*")) if model_dir.is_dir() else ():
        if files >= MAX_FILES or not path.is_file() or path.suffix.lower() not in _PICKLES:
            continue
        files += 1
        for module in _pickle_modules(path):
            if module not in found:
                found.append(module)
    return found


def _pickle_modules(path: Path) -> Iterator[str]:
    """Modules named by ``GLOBAL``/``STACK_GLOBAL`` opcodes, until the first opcode that is not
    pickle's (joblib writes array data in between) or :data:`_MAX_OPCODES`."""
    recent: list[str] = []  # the last two strings pushed (STACK_GLOBAL's module and name)
    memo: dict[int, str | None] = {}
    top: str | None = None  # the string the previous opcode pushed, if it pushed one
    try:
        with open(path, "rb") as handle:
            for count, (op, arg, _) in enumerate(pickletools.genops(handle)):
                if count >= _MAX_OPCODES:
                    return
                pushed: str | None = None
                if op.name == "GLOBAL" and isinstance(arg, str):
                    yield arg.partition(" ")[0]
                elif op.name == "STACK_GLOBAL" and len(recent) >= 2:
                    yield recent[-2]
                elif isinstance(arg, str) and "UNICODE" in op.name:
                    pushed = arg
                elif op.name == "MEMOIZE":
                    memo[len(memo)] = pushed = top
                elif op.name in ("PUT", "BINPUT", "LONG_BINPUT") and isinstance(arg, int):
                    memo[arg] = pushed = top
                elif op.name in ("GET", "BINGET", "LONG_BINGET") and isinstance(arg, int):
                    pushed = memo.get(arg)
                if pushed is not None and op.name not in (
                    "MEMOIZE",
                    "PUT",
                    "BINPUT",
                    "LONG_BINPUT",
                ):
                    recent = [*recent[-1:], pushed]
                top = pushed
    except (OSError, ValueError, EOFError, UnicodeDecodeError):
        return


def _local(module: str, roots: Sequence[Path]) -> tuple[bool, Path | None]:
    """Whether ``module`` is the user's (its top-level name is a file or folder under one of
    ``roots``), and the file to follow for it (None when there is none to read)."""
    if not module or module.startswith("."):
        return False, None
    parts = module.split(".")
    for root in roots:
        top = root / parts[0]
        if not (top.with_suffix(".py").is_file() or top.is_dir()):
            continue
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return True, candidate
        return True, None
    return False, None

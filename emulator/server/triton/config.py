"""A model's ``config.pbtxt``: the protobuf text format, and the fields Triton's ONNX Runtime
backend needs of it.

The text format is parsed generically (``field: value``, ``field { ... }``, ``field: { ... }``,
``field [ a, b ]``, repeated fields, ``#`` comments, quoted strings with C escapes); the fields
read are those of Triton's ``ModelConfig`` message that decide what a request must look like:
``name``, ``platform`` / ``backend``, ``max_batch_size``, ``default_model_filename`` and the
``input`` / ``output`` lists (``name``, ``data_type``, ``dims``, ``reshape``). The others
(instance groups, dynamic batching, optimization...) are accepted and ignored: they change how
Triton schedules requests, not what it answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: Triton's ``TYPE_*`` data types and the protocol's names for them (``TYPE_STRING`` is BYTES).
DATA_TYPES = {
    "TYPE_BOOL": "BOOL",
    "TYPE_UINT8": "UINT8",
    "TYPE_UINT16": "UINT16",
    "TYPE_UINT32": "UINT32",
    "TYPE_UINT64": "UINT64",
    "TYPE_INT8": "INT8",
    "TYPE_INT16": "INT16",
    "TYPE_INT32": "INT32",
    "TYPE_INT64": "INT64",
    "TYPE_FP16": "FP16",
    "TYPE_FP32": "FP32",
    "TYPE_FP64": "FP64",
    "TYPE_STRING": "BYTES",
}
#: What ``platform`` / ``backend`` say for a model the ONNX Runtime backend serves.
ONNX_PLATFORM = "onnxruntime_onnx"
ONNX_BACKEND = "onnxruntime"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<punct>[{}\[\]:,;<>])
      | (?P<word>[-+]?[A-Za-z0-9_.+-]+)
    )""",
    re.VERBOSE,
)


class ConfigError(ValueError):
    """A ``config.pbtxt`` that is not valid text format, or lacks what the backend needs."""


def parse_text_proto(text: str) -> dict[str, list[Any]]:
    """``text`` as ``{field: [values...]}`` (every field a list: text format repeats fields
    freely); a message value is such a dict, a scalar a ``str`` (quoted strings unescaped) or
    the bare word (numbers and enum names alike)."""
    tokens = _tokens(text)
    fields, end = _message(tokens, 0, None)
    if end != len(tokens):
        raise ConfigError(f"unexpected '{tokens[end][1]}' at top level")
    return fields


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            line = text.count("\n", 0, position) + 1
            raise ConfigError(
                f"unexpected character {text[position:].lstrip()[:1]!r} on line {line}"
            )
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "comment":
            found.append((kind, match.group(kind)))
    return found


def _message(
    tokens: list[tuple[str, str]], index: int, closer: str | None
) -> tuple[dict[str, list[Any]], int]:
    fields: dict[str, list[Any]] = {}
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "punct" and value == closer:
            return fields, index + 1
        if kind == "punct" and value in ",;":
            index += 1
            continue
        if kind != "word":
            raise ConfigError(f"expected a field name, found '{value}'")
        name = value
        index += 1
        if index < len(tokens) and tokens[index] == ("punct", ":"):
            index += 1
        values, index = _value(tokens, index, name)
        fields.setdefault(name, []).extend(values)
    if closer is not None:
        raise ConfigError(f"missing '{closer}' at the end of the file")
    return fields, index


def _value(tokens: list[tuple[str, str]], index: int, name: str) -> tuple[list[Any], int]:
    if index >= len(tokens):
        raise ConfigError(f"field '{name}' has no value")
    kind, value = tokens[index]
    if kind == "punct" and value in "{<":
        message, index = _message(tokens, index + 1, "}" if value == "{" else ">")
        return [message], index
    if kind == "punct" and value == "[":
        items: list[Any] = []
        index += 1
        while index < len(tokens) and tokens[index] != ("punct", "]"):
            if tokens[index] == ("punct", ","):
                index += 1
                continue
            item, index = _value(tokens, index, name)
            items.extend(item)
        if index >= len(tokens):
            raise ConfigError(f"missing ']' after the values of field '{name}'")
        return items, index + 1
    if kind == "string":
        return [_unquote(value)], index + 1
    if kind == "word":
        return [value], index + 1
    raise ConfigError(f"field '{name}' has no value (found '{value}')")


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape")


@dataclass(frozen=True)
class TensorConfig:
    """One input or output of the model: its name, protocol data type and dims (as written,
    without the batch dimension; ``-1`` is any size)."""

    name: str
    datatype: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ModelConfig:
    """The fields of a ``config.pbtxt`` that decide what a request must look like."""

    name: str
    platform: str
    backend: str
    max_batch_size: int
    default_model_filename: str
    inputs: tuple[TensorConfig, ...]
    outputs: tuple[TensorConfig, ...]

    @property
    def is_onnx(self) -> bool:
        """Whether Triton would serve it with its ONNX Runtime backend."""
        return self.platform == ONNX_PLATFORM or self.backend == ONNX_BACKEND

    @property
    def served_by(self) -> str:
        """How the config names its backend (platform, else backend), for messages."""
        if self.platform:
            return f"platform '{self.platform}'"
        return f"backend '{self.backend}'" if self.backend else "no platform or backend"

    def shape_of(self, tensor: TensorConfig) -> tuple[int, ...]:
        """The full shape a request gives ``tensor``: ``-1`` first when the model batches."""
        return ((-1,) if self.max_batch_size > 0 else ()) + tensor.dims


def load_config(text: str, directory_name: str) -> ModelConfig:
    """The :class:`ModelConfig` of ``text``; the model's name defaults to its directory's, as
    in Triton. :class:`ConfigError` names what is missing or malformed."""
    fields = parse_text_proto(text)
    name = _scalar(fields, "name", directory_name)
    if name != directory_name:
        raise ConfigError(
            f"model name '{name}' in config.pbtxt does not match its directory "
            f"'{directory_name}': Triton requires them to be the same"
        )
    return ModelConfig(
        name=name,
        platform=_scalar(fields, "platform", ""),
        backend=_scalar(fields, "backend", ""),
        max_batch_size=_integer(_scalar(fields, "max_batch_size", "0"), "max_batch_size"),
        default_model_filename=_scalar(fields, "default_model_filename", "model.onnx"),
        inputs=tuple(_tensor(t, "input") for t in fields.get("input", [])),
        outputs=tuple(_tensor(t, "output") for t in fields.get("output", [])),
    )


def _scalar(fields: dict[str, list[Any]], name: str, default: str) -> str:
    values = fields.get(name)
    if not values:
        return default
    if not isinstance(values[-1], str):
        raise ConfigError(f"field '{name}' must be a value, not a message")
    return values[-1]


def _integer(value: str, field: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise ConfigError(f"field '{field}' must be an integer, not '{value}'") from None


def _tensor(fields: Any, kind: str) -> TensorConfig:
    if not isinstance(fields, dict):
        raise ConfigError(f"each {kind} must be a message {{ name: ... }}")
    name = _scalar(fields, "name", "")
    if not name:
        raise ConfigError(f"an {kind} has no name")
    data_type = _scalar(fields, "data_type", "")
    if data_type not in DATA_TYPES:
        raise ConfigError(
            f"{kind} '{name}' has data_type '{data_type or '(none)'}'; expected one of "
            f"{', '.join(DATA_TYPES)}"
        )
    dims = tuple(_integer(str(d), f"{kind} '{name}' dims") for d in fields.get("dims", []))
    reshape = fields.get("reshape")
    if reshape:
        raise ConfigError(
            f"{kind} '{name}' uses 'reshape', which the emulator does not apply. [emulator] "
            "Give the dims the ONNX graph has instead."
        )
    return TensorConfig(name, DATA_TYPES[data_type], dims)

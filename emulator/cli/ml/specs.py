"""YAML specifications and entities as ``az ml`` handles them.

``az ml ... create -f FILE --set KEY=VALUE -n NAME`` loads the file with the SDK's own
``load_online_endpoint`` / ``load_online_deployment`` (the ``az ml`` schemas; paths relative to
the file) and applies ``--set`` as the SDK's ``params_override`` (dotted keys reach nested fields:
``--set environment_variables.LOG=debug``). ``update`` without a file edits what exists: the
entity's dump, overridden the same way and loaded again by the same schema. Entities print as
their ``_to_dict()`` (the SDK's YAML dump), ``provisioning_state`` as Azure's word: azure-ai-ml
1.35.2 dumps the REST enum member itself (``DeploymentProvisioningState.SUCCEEDED``), and
scripts written for ``az ml`` compare ``--query provisioning_state -o tsv`` with ``Succeeded``.
"""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from emulator.exceptions import InvalidSetting

Loader = Callable[..., Any]


def set_pair(text: str) -> dict[str, str]:
    """``--set KEY=VALUE`` → one ``params_override`` entry (argparse type: bad ones exit 2)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"invalid --set {text!r}: give KEY=VALUE, e.g. --set instance_count=2 or "
            "--set tags.team=scoring"
        )
    return {key.strip(): value}


def traffic_rules(text: str) -> dict[str, int]:
    """``--traffic "blue=90 green=10"`` (az ml's syntax) → ``{"blue": 90, "green": 10}``."""
    rules: dict[str, int] = {}
    for item in text.replace(",", " ").split():
        name, sep, percent = item.partition("=")
        if not sep or not name or not percent.strip().isdigit():
            raise argparse.ArgumentTypeError(
                f"invalid traffic {text!r}: give DEPLOYMENT=PERCENT pairs separated by spaces, "
                'e.g. "blue=90 green=10"'
            )
        rules[name] = int(percent)
    return rules


def yaml_file(value: str) -> Path:
    """``--file``: an existing file (the SDK's own message for a missing one names no flag)."""
    path = Path(value)
    if not path.is_file():
        where = "is a directory" if path.is_dir() else "does not exist"
        raise InvalidSetting(
            f"--file {value}: the file {where} (relative to {Path.cwd()}). Give the path of the "
            "YAML specification, e.g. -f endpoint.yml."
        )
    return path


def load_spec(
    loader: Loader,
    source: Path | None,
    overrides: Sequence[dict[str, Any]],
    current: Any = None,
) -> Any:
    """The entity of ``source`` (or of ``current``'s dump, or an empty spec) with ``overrides``."""
    if source is not None:
        return loader(source=str(source), params_override=list(overrides))
    text = json.dumps(entity_dict(current)) if current is not None else "{}"
    return loader(source=io.StringIO(text), params_override=list(overrides))


def entity_dict(entity: Any) -> dict[str, Any]:
    """What ``az ml`` prints for an entity: its ``_to_dict()`` as plain JSON values."""
    data: dict[str, Any] = json.loads(json.dumps(entity._to_dict(), default=str))
    state = getattr(entity, "provisioning_state", None)
    if isinstance(state, Enum) and "provisioning_state" in data:
        data["provisioning_state"] = state.value
    return data


def plain_object(value: Any) -> dict[str, Any]:
    """An SDK result object as the Azure CLI prints one: public attributes in camelCase
    (``get-credentials``: ``primaryKey``/``secondaryKey``, or ``accessToken``... for tokens)."""
    return {
        _camel(name): attribute
        for name, attribute in vars(value).items()
        if not name.startswith("_") and not callable(attribute)
    }


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)

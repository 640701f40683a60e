"""``environment_hash``: the cache key of the image an environment builds.

Two environments that would build the same image must hash alike whatever they are called
and however their YAML was laid out; any change that alters the image must change the hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from emulator.environments.environment import Environment

# Bump when the hashed content changes meaning, so old cache entries stop matching.
_HASH_FORMAT = 1


def _normalized(value: Any) -> Any:
    """Collapse whitespace inside strings; key order is handled by ``sort_keys`` when dumping."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _normalized(item) for key, item in value.items()}
    return value


def _dockerfile(text: str | None) -> str | None:
    """Line endings and trailing blanks do not change what Docker builds."""
    if text is None:
        return None
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def environment_hash(env: Environment) -> str:
    """sha256 hex of everything that shapes the built image (not name, version or run options)."""
    python = env.python
    docker = env.docker
    content = {
        "format": _HASH_FORMAT,
        "python": {
            "userManagedDependencies": python.user_managed_dependencies,
            "interpreterPath": python.interpreter_path,
            "baseCondaEnvironment": python.base_conda_environment,
            "condaDependencies": _normalized(python.conda_dependencies.as_dict()),
        },
        "docker": {
            "baseImage": docker.base_image,
            "baseImageRegistry": docker.base_image_registry.address,
            "baseDockerfile": _dockerfile(docker.base_dockerfile),
            "buildContext": docker.build_context,
        },
        "environmentVariables": _normalized(env.environment_variables),
        "inferencingStackVersion": env.inferencing_stack_version,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

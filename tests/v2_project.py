"""A small ``az ml`` online deployment project on disk: a scoring script without third-party
packages, a JSON "model" in a folder (``model/`` below AZUREML_MODEL_DIR, as the v2 samples keep
theirs), a conda file pinning this interpreter's python and the deployment YAML.

Shared by the plugin's spec-file tests and ``amlemu validate --deployment``'s tests, which
exercise the same project through two doors.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"

#: FACTOR comes from the YAML's environment_variables; ``header`` lets a test add a broken import.
SCRIPT = """
import json, os, time
{header}
def init():
    global scale
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], {model_path!r})
    with open(path) as handle:
        scale = json.load(handle)["scale"] * int(os.environ["FACTOR"])

def run(raw):
    time.sleep({sleep})
    return {{"scaled": [scale * v for v in json.loads(raw)["values"]]}}
"""

DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: scale-ep
model:
  path: ./model
code_configuration:
  code: ./src
  scoring_script: score.py
environment:
  conda_file: ./conda.yml
  image: mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest
environment_variables:
  FACTOR: "3"
instance_type: Standard_DS3_v2
instance_count: 1
request_settings:
  request_timeout_ms: 3000
"""


def write_project(
    folder: Path,
    deployment: str = DEPLOYMENT,
    file_name: str = "blue-deployment.yml",
    model_path: str = "model/scale.json",
    sleep: float = 0,
    header: str = "",
) -> Path:
    """Write the project into ``folder``; the path of the deployment YAML."""
    (folder / "src").mkdir(exist_ok=True)
    script = SCRIPT.format(header=header, model_path=model_path, sleep=sleep)
    (folder / "src" / "score.py").write_text(script)
    (folder / "model").mkdir(exist_ok=True)
    (folder / "model" / "scale.json").write_text('{"scale": 2}')
    (folder / "conda.yml").write_text(f"name: scale\ndependencies:\n- python={PYTHON}\n")
    (folder / "request.json").write_text('{"values": [1, 2]}')
    path = folder / file_name
    path.write_text(textwrap.dedent(deployment))
    return path

"""The files of a tutorial-shaped local deployment: a scoring script that reads its model
folder, and a conda environment the host interpreter satisfies (host builder: no installs)."""

SCORE = """
import json, os

def init():
    global factor
    # A folder model is mounted with its folder, as in Azure: <AZUREML_MODEL_DIR>/model/...
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "factor.txt")) as f:
        factor = int(f.read())
    print("model loaded, factor", factor)

def run(raw):
    return {"scaled": [x * factor for x in json.loads(raw)["data"]]}
"""

CONDA = """
name: local-env
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
    - azureml-defaults
"""

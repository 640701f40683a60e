#!/usr/bin/env bash
# lock-test-tools.sh - rewrite constraints/test-tools.txt with the newest releases of the test and
# lint tools (and all they pull in) that install on this Python. Run it on purpose, then run the
# README's test command and commit the file together with any fixes the new releases need.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=constraints/test-tools.txt
REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
# --ignore-installed: resolve as a fresh machine would, whatever this environment holds.
python3 -m pip install --dry-run --ignore-installed --quiet --report "$REPORT" -e '.[test,lint]'
python3 - "$REPORT" "$LOCK" <<'PY'
import json
import sys

report, lock = sys.argv[1:]
header = [line for line in open(lock) if line.startswith("#")]
pins = sorted(
    (f"{item['metadata']['name']}=={item['metadata']['version']}"
     for item in json.load(open(report))["install"]
     if item["metadata"]["name"] != "azureml-emulator"),
    key=str.lower,
)
with open(lock, "w") as out:
    out.writelines(header)
    out.write("\n".join(pins) + "\n")
print(f"{lock}: {len(pins)} pins")
PY

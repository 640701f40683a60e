"""The scoring script the reliability runner deploys: strict about its input, so that every bad
request gets a clear 4xx from the script (415, 400) and only well-formed ones a 200."""

import json

from azureml.contrib.services.aml_response import AMLResponse


def init() -> None:
    pass


def run(raw_data: str, request_headers: dict[str, str]) -> object:
    content_type = request_headers.get("Content-Type", "")
    if not content_type.lower().startswith("application/json"):
        return AMLResponse({"error": "send Content-Type: application/json"}, 415, json_str=True)
    try:
        payload = json.loads(raw_data)
    except (ValueError, RecursionError) as exc:
        return AMLResponse({"error": f"invalid JSON: {str(exc)[:80]}"}, 400, json_str=True)
    rows = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, list)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
        for row in rows
    ):
        return AMLResponse({"error": 'expected {"data": [[numbers]]}'}, 400, json_str=True)
    try:
        return {"sums": [float(sum(row)) for row in rows]}
    except OverflowError:
        return AMLResponse({"error": "numbers too large"}, 400, json_str=True)

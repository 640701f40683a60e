"""Property-based testing of scoring services with Hypothesis (the ``testing`` extra).

``payloads(source)`` generates request bodies a service should score, from its
``inference_schema`` input schema (read from the service's swagger), a swagger document, or a
sample input; ``malformed_payloads(source)`` generates bodies it should refuse; and
``check_scoring_contract(service)`` checks both against a deployed service.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as missing:
    raise ImportError(
        "emulator.testing needs Hypothesis: pip install 'azureml-emulator[testing]'"
    ) from missing

from emulator.testing.contract import ScoringContractViolation, check_scoring_contract
from emulator.testing.exception_text import looks_like_exception
from emulator.testing.malformed import KINDS as MALFORMED_KINDS
from emulator.testing.malformed import malformed_payloads
from emulator.testing.payloads import payloads

__all__ = [
    "MALFORMED_KINDS",
    "ScoringContractViolation",
    "check_scoring_contract",
    "looks_like_exception",
    "malformed_payloads",
    "payloads",
]

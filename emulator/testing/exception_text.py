"""Recognizing an exception message returned as a successful answer.

The seed's ``run()`` ends in ``except Exception as e: return str(e)``, so a failure reaches the
client as a 200 whose body is the message. ``str(e)`` carries no class name, so the messages
are recognized by the shapes Python, NumPy, pandas and scikit-learn give them.
"""

from __future__ import annotations

import re

_SHAPES = [
    r"Traceback \(most recent call last\)",
    r"^\s*[A-Z]\w*(Error|Exception)\b\s*[:(]",
    r"could not convert",
    r"name '[^']+' is not defined",
    r"object has no attribute",
    r"object is not (subscriptable|iterable|callable)",
    r"Expected [0-9]D array",
    r"invalid literal for",
    r"index \d+ is out of bounds|index out of range|out of bounds for",
    r"unsupported operand type",
    r"cannot reshape array",
    r"could not (be )?broadcast",
    r"setting an array element with a sequence",
    r"too many indices for array",
    r"has \d+ features?, but \w+ is expecting \d+ features?",
    r"Found array with \d+ (sample|feature)",
    r"Input (X )?contains (NaN|infinity)",
    r"Found unknown categor",
    r"missing \d+ required (positional|keyword)",
    r"takes \d+ positional arguments? but \d+ (was|were) given",
    r"got an unexpected keyword argument",
    r"unhashable type",
    r"(string|list|tuple) indices must be integers",
    r"must be (a )?real number, not",
    r"argument must be a string",
    r"math domain error",
    r"division by zero",
    r"No module named",
    r"int too large|Python int too large|cannot convert float (NaN|infinity)",
    r"maximum recursion depth exceeded",
    r"Expecting (value|property name|',' delimiter|':' delimiter)",
    r"Unterminated string starting at|Extra data: line \d+",
    r"the JSON object must be str, bytes or bytearray",
    r"shapes \([^)]*\) and \([^)]*\) not aligned",
]
_PATTERN = re.compile("|".join(f"(?:{shape})" for shape in _SHAPES), re.MULTILINE)


def looks_like_exception(text: str) -> bool:
    """Whether ``text`` reads like a Python exception message (``str(e)``) or a traceback."""
    return bool(_PATTERN.search(text))

"""The converter's errors share one base, so callers can catch every conversion failure."""

from __future__ import annotations


class ConversionError(Exception):
    """A model could not be converted to (or checked as) ONNX; the message says why."""

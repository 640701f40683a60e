"""Messages for a tensor or node name that is not there: the real names and the closest one."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def strip_port(name: str) -> str:
    """``"images:0"`` → ``"images"``: TensorFlow's tensor names carry an output index."""
    base, sep, port = name.rpartition(":")
    return base if sep and port.isdigit() else name


def match(name: str, known: Sequence[str]) -> str | None:
    """``name`` as one of ``known``, also when it carries or lacks TensorFlow's ``:0``."""
    if name in known:
        return name
    for candidate in known:
        if strip_port(candidate) == strip_port(name) and (
            candidate.endswith(":0") or name.endswith(":0")
        ):
            return candidate
    return None


def closest(name: str, known: Sequence[str]) -> str | None:
    """The most similar known name, if one is reasonably close."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    if found:
        return found[0]
    stripped = {strip_port(k): k for k in known}
    found = difflib.get_close_matches(strip_port(name), list(stripped), n=1, cutoff=0.5)
    return stripped[found[0]] if found else None


def unknown_name(what: str, name: str, known: Sequence[str], where: str) -> str:
    """``"<what> 'x' is not in <where>. <What>s: a, b. Closest match: 'a'."``"""
    listing = ", ".join(repr(k) for k in known) or "none"
    text = f"{what} {name!r} is not in {where}. Known {what.lower()}s: {listing}."
    guess = closest(name, known)
    if guess is not None:
        text += f" Closest match: {guess!r}."
    return text

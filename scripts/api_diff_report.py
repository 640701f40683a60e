"""The plain-text report of ``scripts/api_diff.py``: the coverage table, then the gaps.

Kept apart from the introspection and comparison so each file stays one concept and the
script stays readable; ``api_diff.render`` is this module's ``render`` (the script and its
tests name it there). Standard library only, like its siblings: it is imported by the script
under whichever interpreter runs it.
"""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any]) -> str:
    """The coverage table, then every gap, as plain text."""
    width = max([len(c["class"]) for c in report["classes"]] + [5])
    lines = [f"{'class':<{width}}  real  present  compatible  tested  not emulated"]
    for c in [*report["classes"], {"class": "TOTAL", **report["totals"]}]:
        lines.append(
            f"{c['class']:<{width}}  {c['real']:>4}  {c['present']:>7}  {c['compatible']:>10}"
            f"  {c['tested']:>6}  {c['not_emulated']:>12}"
        )
    t = report["totals"]
    lines.append(
        f"compatible: {t['percent_compatible']}% of the real members (present, a call that "
        "binds on the SDK binds here, and not a refusal or placeholder)"
    )
    lines.append(f"tested: {t['percent_tested']}% (compatible, and a test reads or calls it)")
    for title, wanted in (
        ("Not emulated (the SDK's error, with the reason):", True),
        ("Gaps:", False),
    ):
        lines.extend(["", title])
        for c in report["classes"]:
            for member, problems in c["gaps"].items():
                if problems[0].startswith("not emulated") == wanted:
                    lines.append(f"  {c['class']}.{member}: {'; '.join(problems)}")
    lines.extend(["", "Compatible but no test reads or calls them:"])
    lines.extend(
        f"  {c['class']}: {', '.join(c['untested'])}" for c in report["classes"] if c["untested"]
    )
    if report["missing_classes"]:
        lines.append("")
        lines.append("Import paths of public classes that the shim does not have:")
        lines.extend(f"  {name}" for name in report["missing_classes"])
    if report["unavailable_modules"]:
        lines.append("")
        lines.append("Modules not compared (not importable on one side):")
        lines.extend(f"  {m}: {why}" for m, why in report["unavailable_modules"].items())
    return "\n".join(lines)

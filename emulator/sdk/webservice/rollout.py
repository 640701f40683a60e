"""The traffic rules of an AKS endpoint's versions (the SDK v1's controlled rollout).

What the SDK does on the client (azureml-core 1.61, ``AksEndpoint.create_version`` /
``update_version``): a version made default turns every other version's ``isDefault`` off, a
version made the control turns every other version into a treatment; ``traffic_percentile`` is
checked to lie in 0..100. What Azure's service adds, as its controlled-rollout documentation
states it: the first version is the default one, and "unspecified traffic percentile across all
versions will go into the default version". The emulator enforces the rest of what that implies,
each with an error naming the fix: the versions' percentiles cannot add up to more than 100, an
endpoint keeps exactly one default version (it cannot be switched off or deleted while other
versions remain; make another version default first), and its last version cannot be deleted
(delete the endpoint instead).

The shares the router applies are in hundredths of a percent (a weight per version), so
``traffic_percentile=12.5`` is honoured exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from emulator.sdk.exceptions import WebserviceException

CONTROL = "Control"
TREATMENT = "Treatment"


@dataclass(frozen=True)
class VersionTraffic:
    """One version's place in the endpoint's traffic."""

    traffic_percentile: float | None
    is_default: bool
    version_type: str = TREATMENT


def check_total(endpoint: str, versions: Mapping[str, VersionTraffic]) -> None:
    """Refuse percentiles that add up to more than 100."""
    total = sum(v.traffic_percentile or 0 for v in versions.values())
    if total > 100:
        listed = ", ".join(f"{n}={v.traffic_percentile or 0}" for n, v in versions.items())
        raise WebserviceException(
            f"Invalid traffic configuration for endpoint {endpoint}: the versions' "
            f"traffic_percentile add up to {total:g} (more than 100): {listed}. Lower a "
            "version's traffic_percentile with update_version first."
        )


def check_default(endpoint: str, versions: Mapping[str, VersionTraffic]) -> None:
    """Exactly one version is the default one."""
    defaults = [name for name, v in versions.items() if v.is_default]
    if versions and len(defaults) != 1:
        raise WebserviceException(
            f"Endpoint {endpoint} needs exactly one default version (it would have "
            f"{len(defaults)}: {', '.join(defaults) or 'none'}). Make another version the "
            "default with update_version(<name>, is_default=True) instead."
        )


def shares(versions: Mapping[str, VersionTraffic]) -> dict[str, int]:
    """Each version's weight in hundredths of a percent: its own percentile, plus, for the
    default version, what no version claims."""
    weights = {name: round((v.traffic_percentile or 0) * 100) for name, v in versions.items()}
    unclaimed = max(0, 10000 - sum(weights.values()))
    for name, version in versions.items():
        if version.is_default:
            weights[name] += unclaimed
    return weights


def default_version(versions: Mapping[str, VersionTraffic]) -> str | None:
    return next((name for name, v in versions.items() if v.is_default), None)

"""What the gateway knows about a replica: where it listens and whether it may get traffic.

Replicas are started elsewhere (processes, containers); a service route only reads the current
list from a *provider* on each request, so scaling, restarts and readiness changes need no
call into the gateway (:meth:`ServiceRoute.notify` merely wakes queued requests sooner).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class Replica:
    """One replica's scoring server: ``http://host:port``; ``ready`` as its readiness probe says.
    ``path``: where a custom container scores (its ``scoring_route``), which a scoring request's
    path is replaced with (its query kept); ``None``: the request's own path."""

    id: str
    host: str = "127.0.0.1"
    port: int
    ready: bool = True
    path: str | None = None


class _HasReplicas(Protocol):
    def replicas(self) -> Sequence[Replica]: ...


#: A callable returning the current replicas, or an object with a ``replicas()`` method. It is
#: called on the gateway's event loop for every request, so it must be fast and never block.
ReplicaProvider = Callable[[], Sequence[Replica]] | _HasReplicas


def as_callable(provider: ReplicaProvider) -> Callable[[], Sequence[Replica]]:
    """The provider as a plain callable."""
    method = getattr(provider, "replicas", None)
    if callable(method):
        return method
    if callable(provider):
        return provider
    raise TypeError(f"a replica provider must be callable or have replicas(): {provider!r}")

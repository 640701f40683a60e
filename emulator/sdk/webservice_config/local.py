"""``LocalWebservice.deploy_configuration`` → ``LocalWebserviceDeploymentConfiguration``.

The only setting is the host port; ``None`` lets the service pick a free one (the SDK's Docker
run binds a random port on 127.0.0.1 the same way).
"""

from __future__ import annotations

from emulator.sdk.exceptions import WebserviceException
from emulator.sdk.webservice_config.base import WebserviceDeploymentConfiguration


class LocalWebserviceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of a local web service: its port."""

    compute_type = "Local"

    def __init__(self, port: int | None = None) -> None:
        super().__init__(None)
        self.port = port
        self.validate_configuration()

    def validate_configuration(self) -> None:
        port = self.port
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
        ):
            raise WebserviceException(
                "Invalid configuration, port must be an integer in range [1, 65535]"
            )

    def print_deploy_configuration(self) -> None:
        if self.port is not None:
            print(f"Port: {self.port}")


def local_deploy_configuration(port: int | None = None) -> LocalWebserviceDeploymentConfiguration:
    """``LocalWebservice.deploy_configuration``: a port in [1, 65535], or ``None`` for any."""
    return LocalWebserviceDeploymentConfiguration(port)

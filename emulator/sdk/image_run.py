"""``ContainerImage.run``: run the image once, locally, score one input, and stop it.

The SDK pulls the image, starts a Docker container on a free loopback port, waits for its
health check, posts the input to ``/score`` and removes the container. The emulator does the
same with its local runtime: a throw-away ``LocalWebservice`` of the image (named
``image-run-<8 hex>``, listed only while it runs), deleted whatever the outcome. Its failures
read as the SDK's (``Did your init method fail?``, ``Error: Scoring was unsuccessful.``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from emulator.images.records import CreationState, ImageRecord
from emulator.sdk.exceptions import WebserviceException

if TYPE_CHECKING:
    from emulator.sdk.workspace import Workspace


class ImageRun:
    """The SDK's ``ContainerImage.run(input_data)``."""

    _record: ImageRecord
    workspace: Workspace

    def run(self, input_data: Any) -> Any:
        """Start the image, score ``input_data`` once, stop it; the decoded JSON answer."""
        if not input_data:
            raise WebserviceException("Error: You must provide input data.")
        if self._record.state is not CreationState.SUCCEEDED:
            raise WebserviceException(
                f"[emulator] Image {self._record.image_id} is {self._record.state.value}: only "
                "a built image runs. Call wait_for_creation() and check creation_state first."
            )
        from emulator.sdk.webservice import LocalWebservice

        name = f"image-run-{uuid.uuid4().hex[:8]}"
        config = LocalWebservice.deploy_configuration()
        service = LocalWebservice._deploy(self.workspace, name, self._record, config, None, False)
        try:
            service.wait_for_deployment()
            return service.run(input_data)
        finally:
            service.delete()

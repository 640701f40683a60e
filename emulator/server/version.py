"""The inference server release whose HTTP contract, headers and log lines are reproduced."""

INFSRV_VERSION = "1.5.1"

#: ``x-ms-server-version`` value (azmlinfsrv puts it in ``HTTP_X_MS_SERVER_VERSION``).
SERVER_VERSION_HEADER = f"azmlinfsrv/{INFSRV_VERSION}"

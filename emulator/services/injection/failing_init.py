"""The entry script a replica start runs when an ``init-failure`` fault takes that start.

It stands in for the user's script for one run only: the server boots as usual, ``init()``
raises, and the run ends as any run whose ``init()`` raises does (exit code 3, the traceback in
the log, a restart with back-off).
"""


def init() -> None:
    raise RuntimeError(
        "[emulator] init() failed because an init-failure fault was injected into this "
        "service (service.faults.fail_init / amlemu faults inject SERVICE init-failure)."
    )


def run(raw_data: str) -> str:
    return raw_data

"""``amlemu``: the emulator's command line (one module per command group)."""

from emulator.cli.main import main

__all__ = ["main"]

"""The emulator's reliability runner: load, faults during load, the registry under kills, and
fuzzing of the gateway and the CLI. ``python -m reliability --help``; prints a JSON summary."""

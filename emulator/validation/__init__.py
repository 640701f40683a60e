"""Pre-deployment validation of an entry script, its models and its environment.

``amlemu validate`` and ``Model.profile`` are built on it. Checks have stable ids
(:mod:`.checks`); :func:`emulator.validation.pipeline.validate` runs them all. Nothing is
imported here: the probes (:mod:`.envprobe`, :mod:`.runprobe`) run inside the scoring
environment with ``python -m`` and must not drag the host-side machinery in.
"""

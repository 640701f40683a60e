"""SDK v2 batch deployments' jobs, run on this machine: the state side, without HTTP.

A batch job splits its input files into mini-batches and runs the deployment's scoring script
on them in worker processes (``init()`` once per worker, ``run(mini_batch)`` per mini-batch),
inside the interpreter of the deployment's image; its logs and its output are laid out as
Azure lays them out. The ARM face starts jobs through :mod:`emulator.batch.engine`.

This package's ``__init__`` imports nothing: workers (:mod:`emulator.batch.worker`) start
inside images and must load as little of the emulator as the scoring server does.
"""

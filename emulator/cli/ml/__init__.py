"""``amlemu ml``: ``az ml``'s online-endpoint and online-deployment verbs, run by the real
``azure-ai-ml`` against the emulator (:mod:`emulator.cli.ml_cmd` registers them).

:mod:`~emulator.cli.ml.workspace` (which workspace: flags, ``config.json``, the root's only one),
:mod:`~emulator.cli.ml.connection` (the SDK, the daemon or a server of this command),
:mod:`~emulator.cli.ml.specs` (YAML with ``--set``, entities as ``az ml`` prints them),
:mod:`~emulator.cli.ml.output` (``-o json|yaml|tsv|table|none`` and ``--query``),
:mod:`~emulator.cli.ml.endpoint_verbs` and :mod:`~emulator.cli.ml.deployment_verbs` (the verbs).
"""

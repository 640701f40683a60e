"""The live side of fault injection, in the process that hosts a service.

Faults themselves are state (:mod:`emulator.faults`: files any process writes); these modules
apply them where they act: the gateway route (:mod:`.front`), the replicas' launcher
(:mod:`.launches`, whose ``init-failure`` starts run :mod:`.failing_init`), and a watcher that
logs and applies faults to live replicas (:mod:`.watcher`), bundled per service by
:mod:`.hosting`. They sit with services because they wrap its gateway and runtime pieces.
"""

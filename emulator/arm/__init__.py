"""The Azure Resource Manager face: the REST protocol the real ``azure-ai-ml`` client speaks.

A thin translation onto the state layers (as ``emulator.sdk`` is for SDK v1); it never imports
the v1 face. :mod:`emulator.arm.urls` is the route table, :mod:`emulator.arm.responses` the
handlers, :mod:`emulator.arm.exceptions` ARM's error bodies, :mod:`emulator.arm.app` the WSGI
application that ties them together (served by :mod:`emulator.daemon`).
"""

"""The scoring server: Azure ML's inference server (``azmlinfsrv`` 1.5.1) HTTP contract, offline.

An asyncio HTTP process answers the routes and runs no user code; the entry script's ``init()``
and ``run()`` live in worker processes, so a hung or crashing ``run()`` never takes the server
down. :func:`emulator.server.main.run_server` is the entry point (``amlemu serve``).
"""

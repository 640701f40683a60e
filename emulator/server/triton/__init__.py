"""Triton Inference Server's HTTP contract (the Open Inference Protocol, KServe V2) on ONNX
Runtime: what Azure's no-code Triton deployments (models registered as ``triton_model``) answer.

A Triton model repository (``<repo>/<model>/config.pbtxt`` + ``<repo>/<model>/<version>/
model.onnx``) is read by :mod:`.config` and :mod:`.repository`, requests and answers are coded
by :mod:`.tensors` (JSON tensors and the binary tensor extension), and :mod:`.app` routes them.
It imports only the standard library, NumPy and ONNX Runtime (loaded when a repository is).
"""

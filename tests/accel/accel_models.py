"""Small ONNX graphs for the accelerated-models tests, built with onnx.helper (no downloads)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp(n_in: int = 8, hidden: int = 32, n_out: int = 3, seed: int = 0) -> onnx.ModelProto:
    """``images [N, n_in]`` → MatMul/Add/Relu → MatMul/Add → ``hidden`` → Softmax ``probs``."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.standard_normal((n_in, hidden)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal(hidden).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.standard_normal((hidden, n_out)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.standard_normal(n_out).astype(np.float32), "b2"),
    ]
    nodes = [
        helper.make_node("MatMul", ["images", "w1"], ["h0"], name="dense1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
        helper.make_node("Relu", ["h1"], ["hidden"], name="relu1"),
        helper.make_node("MatMul", ["hidden", "w2"], ["l0"], name="dense2"),
        helper.make_node("Add", ["l0", "b2"], ["logits"], name="bias2"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [None, n_in])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, [None, n_out]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, n_out]),
        ],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def text_identity() -> onnx.ModelProto:
    """``images`` (strings, [N]) → ``echo`` (the same strings)."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["echo"])],
        "echo",
        [helper.make_tensor_value_info("images", TensorProto.STRING, [None])],
        [helper.make_tensor_value_info("echo", TensorProto.STRING, [None])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def scale(factor: float) -> onnx.ModelProto:
    """``x [N, 2]`` → ``y = x * factor``: two of these tell routed services apart."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
        [numpy_helper.from_array(np.array(factor, dtype=np.float32), "k")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

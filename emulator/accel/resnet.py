"""A ResNet-50-shaped ONNX graph with random weights, built in code (no download).

Same layers and tensor shapes as ResNet-50 v1 (7x7 stem, bottleneck stages of 3, 4, 6 and 3
blocks, 2048 features), with batch norm folded into the convolutions as inference graphs have
it. The input is NHWC ``[N, 224, 224, 3]`` like Azure's accelerated featurizers; the output is
their ``[N, 1, 1, 2048]`` features, or with ``classes`` the softmax over a dense layer. Useful
as a stand-in featurizer for examples and for timing image models; its numbers mean nothing.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STAGES = ((64, 256, 3, 1), (128, 512, 4, 2), (256, 1024, 6, 2), (512, 2048, 3, 2))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def conv(
        self, x: str, c_in: int, c_out: int, k: int, stride: int = 1, relu: bool = True
    ) -> str:
        w, b, out = self.name("w"), self.name("b"), self.name("conv")
        scale = np.sqrt(2.0 / (c_in * k * k))
        weights = (self.rng.standard_normal((c_out, c_in, k, k)) * scale).astype(np.float32)
        self.inits += [
            numpy_helper.from_array(weights, w),
            numpy_helper.from_array(np.zeros(c_out, np.float32), b),
        ]
        pad = k // 2
        self.nodes.append(
            helper.make_node(
                "Conv", [x, w, b], [out], kernel_shape=[k, k], strides=[stride, stride],
                pads=[pad, pad, pad, pad], name=out,
            )
        )  # fmt: skip
        return self.relu(out) if relu else out

    def relu(self, x: str) -> str:
        out = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [out], name=out))
        return out

    def bottleneck(self, x: str, c_in: int, mid: int, c_out: int, stride: int) -> str:
        y = self.conv(x, c_in, mid, 1)
        y = self.conv(y, mid, mid, 3, stride)
        y = self.conv(y, mid, c_out, 1, relu=False)
        shortcut = (
            x if (c_in == c_out and stride == 1) else self.conv(x, c_in, c_out, 1, stride, False)
        )
        out = self.name("add")
        self.nodes.append(helper.make_node("Add", [y, shortcut], [out], name=out))
        return self.relu(out)


def resnet50(classes: int | None = None, seed: int = 0) -> onnx.ModelProto:
    """The graph: input ``InputImage`` NHWC float; output ``features`` ``[N, 1, 1, 2048]``, or
    ``probabilities`` ``[N, classes]`` when ``classes`` is given."""
    b = _Builder(seed)
    b.nodes.append(helper.make_node("Transpose", ["InputImage"], ["nchw"], perm=[0, 3, 1, 2]))
    x = b.conv("nchw", 3, 64, 7, 2)
    b.nodes.append(
        helper.make_node(
            "MaxPool", [x], ["pool1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        )
    )
    x, c_in = "pool1", 64
    for mid, c_out, blocks, stride in STAGES:
        for i in range(blocks):
            x = b.bottleneck(x, c_in, mid, c_out, stride if i == 0 else 1)
            c_in = c_out
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool5"]))
    inputs = [helper.make_tensor_value_info("InputImage", TensorProto.FLOAT, [None, 224, 224, 3])]
    if classes is None:
        b.nodes.append(helper.make_node("Transpose", ["pool5"], ["features"], perm=[0, 2, 3, 1]))
        outputs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 1, 1, 2048])]
    else:
        weights = (b.rng.standard_normal((2048, classes)) * np.sqrt(1 / 2048)).astype(np.float32)
        b.inits += [
            numpy_helper.from_array(weights, "fc_w"),
            numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b"),
        ]
        b.nodes += [
            helper.make_node("Flatten", ["pool5"], ["flat"]),
            helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ]
        outputs = [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, classes])
        ]
    graph = helper.make_graph(b.nodes, "resnet50_shaped", inputs, outputs, b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

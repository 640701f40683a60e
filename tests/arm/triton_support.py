"""A Triton model repository built for the tests: Triton's "simple" example (two FP32 inputs
of [-1, 4], their sum and difference) as an ONNX graph made with onnx's helper API."""

from __future__ import annotations

from pathlib import Path

from onnx import TensorProto, ValueInfoProto, helper, save_model

#: Triton's "simple" example in FP32: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1.
CONFIG = """
name: "simple"   # must be the folder's name
platform: "onnxruntime_onnx"
max_batch_size: 8
input [
  { name: "INPUT0", data_type: TYPE_FP32, dims: [ 4 ] },
  { name: "INPUT1", data_type: TYPE_FP32, dims: [ 4 ] }
]
output [
  { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] },
  { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] }
]
instance_group [ { kind: KIND_CPU, count: 1 } ]
"""


def onnx_model(path: Path) -> None:
    """The "simple" graph, saved at ``path`` (its folder made)."""

    def tensor(name: str) -> ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 4])

    graph = helper.make_graph(
        [
            helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
            helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
        ],
        "simple",
        [tensor("INPUT0"), tensor("INPUT1")],
        [tensor("OUTPUT0"), tensor("OUTPUT1")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True)
    save_model(model, str(path))


def repository(tmp_path: Path, config: str = CONFIG) -> Path:
    """``<tmp_path>/models``: the model ``simple`` with ``config`` and version 1."""
    folder = tmp_path / "models"
    onnx_model(folder / "simple" / "1" / "model.onnx")
    (folder / "simple" / "config.pbtxt").write_text(config)
    return folder

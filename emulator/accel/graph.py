"""Selecting a model's input and output nodes by name, as the FPGA converter's request names them.

A name may be a graph input or output, an intermediate value (the graph is then cut there with
ONNX's extractor), a node's name (its single output is meant), and TensorFlow's ``name:0``
spelling matches ``name`` and back. A name that is none of these fails with the graph's real
inputs or outputs and the closest match.
"""

from __future__ import annotations

from collections.abc import Sequence

import onnx
import onnx.shape_inference
import onnx.utils

from emulator.accel import names
from emulator.accel.errors import ConversionError


class NodeNameError(ConversionError, ValueError):
    """An input or output node name that the graph does not have."""


def graph_inputs(model: onnx.ModelProto) -> list[str]:
    """Inputs a caller feeds (initializers listed as inputs excluded)."""
    initialized = {init.name for init in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initialized]


def graph_outputs(model: onnx.ModelProto) -> list[str]:
    return [o.name for o in model.graph.output]


def _values(model: onnx.ModelProto) -> list[str]:
    """Every value a node produces (candidates for cutting the graph)."""
    return [out for node in model.graph.node for out in node.output if out]


def _resolve(
    model: onnx.ModelProto, given: str, preferred: list[str], role: str
) -> tuple[str, bool]:
    """(value name, whether it is one of ``preferred``)."""
    found = names.match(given, preferred)
    if found is not None:
        return found, True
    values = _values(model)
    found = names.match(given, values)
    if found is not None:
        return found, False
    by_node = {node.name: node for node in model.graph.node if node.name}
    node = by_node.get(names.strip_port(given))
    if node is not None and len([o for o in node.output if o]) == 1:
        return node.output[0], node.output[0] in preferred
    message = names.unknown_name(f"{role} node", given, preferred, f"the graph's {role}s")
    if names.closest(given, preferred) is None:
        guess = names.closest(given, values + list(by_node))
        if guess is not None:
            message += f" Closest intermediate value or node: {guess!r}."
    raise NodeNameError(message)


def select(
    model: onnx.ModelProto,
    input_nodes: Sequence[str] | None,
    output_nodes: Sequence[str] | None,
) -> onnx.ModelProto:
    """The model restricted to ``input_nodes`` → ``output_nodes`` (None: keep the graph's)."""
    inputs = graph_inputs(model)
    outputs = graph_outputs(model)
    chosen_in = [_resolve(model, n, inputs, "input") for n in input_nodes or ()]
    chosen_out = [_resolve(model, n, outputs, "output") for n in output_nodes or ()]
    in_names = [n for n, _ in chosen_in] or inputs
    out_names = [n for n, _ in chosen_out] or outputs
    if all(is_io for _, is_io in chosen_in + chosen_out) and set(in_names) == set(inputs):
        if out_names == outputs:
            return model
        selected = onnx.ModelProto()
        selected.CopyFrom(model)
        by_name = {o.name: o for o in model.graph.output}
        del selected.graph.output[:]
        selected.graph.output.extend(by_name[n] for n in out_names)
        return selected
    try:
        inferred = onnx.shape_inference.infer_shapes(model)  # the extractor needs value types
        return onnx.utils.Extractor(inferred).extract_model(in_names, out_names)
    except Exception as exc:
        raise NodeNameError(
            f"Cannot cut the graph between inputs {in_names} and outputs {out_names}: {exc}. "
            f"The graph's inputs: {inputs}; outputs: {outputs}."
        ) from exc

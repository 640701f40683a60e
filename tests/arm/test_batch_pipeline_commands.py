"""A pipeline step's command as it runs: ``${{inputs.x}}``/``${{outputs.y}}`` replaced by
shell-quoted values, optional ``$[[ ... ]]`` parts kept only when their inputs are given, and
a reference to an input the step lacks refused naming the ones it has."""

from __future__ import annotations

import pytest

from emulator.batch.pipeline import UnboundReference, substitute


def test_references_are_replaced_by_quoted_values() -> None:
    command = "python run.py --data ${{inputs.data}} --n ${{ inputs.n }} --out ${{outputs.out}}"
    got = substitute(command, {"data": "/in/my data", "n": "3"}, {"out": "/out"})
    assert got == "python run.py --data '/in/my data' --n 3 --out /out"


def test_an_optional_part_is_kept_only_when_its_inputs_are_given() -> None:
    command = "run $[[--lr ${{inputs.lr}}]] $[[--seed ${{inputs.seed}}]]"
    assert substitute(command, {"lr": "0.1"}, {}) == "run --lr 0.1 "


def test_an_input_the_step_lacks_is_named_with_the_ones_it_has() -> None:
    with pytest.raises(UnboundReference, match=r"inputs\.rows.*\(inputs: data, n\)"):
        substitute("run ${{inputs.rows}}", {"data": "/in", "n": "1"}, {})

"""Helpers shared by the CNN HW layers (not public API).

FINN names the datatype attributes per layer: most layers carry
``inputDataType``/``outputDataType`` (:func:`~.base.hw_attributes`), but
layers whose output type follows from the input carry only
``inputDataType`` (FMPadding, GlobalAccPool, AddStreams, DuplicateStreams)
or ``dataType`` (StreamingMaxPool, StreamingDataWidthConverter,
StreamingFIFO). :func:`stream_attributes` builds those schemas, so files
written by FINN load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import onnx
from onnx import TensorProto, helper
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import QnnccError, UnsupportedOpError
from qnncc.custom_op.base import AttrSpec

from .base import HWLayer, hw_attributes

#: ``ram_style`` values of FINN's buffers and weight memories.
RAM_STYLES = frozenset({"auto", "block", "distributed", "ultra"})
BINARY_FLAG = frozenset({0, 1})


def stream_attributes(datatypes: Mapping[str, AttrSpec], **specific: AttrSpec) -> dict[str, AttrSpec]:
    """Schema of a layer with its own datatype attributes ``datatypes`` instead of input/outputDataType."""
    common = {k: v for k, v in hw_attributes(**specific).items() if k not in ("inputDataType", "outputDataType")}
    return {**datatypes, **common}


def pair(layer: HWLayer, name: str) -> tuple[int, int]:
    """Attribute ``name`` as ``(H, W)``: two positive integers.

    Raises:
        UnsupportedOpError: naming the node and the attribute.
    """
    value = [int(v) for v in layer.attrs[name]]
    if len(value) != 2 or min(value) < 1:
        raise UnsupportedOpError(f"{layer.describe()}: {name}={value} must be two positive integers [H, W]")
    return value[0], value[1]


def positive(layer: HWLayer, *names: str) -> None:
    """Check that the int attributes ``names`` are >= 1.

    Raises:
        UnsupportedOpError: naming the node and the attribute.
    """
    for name in names:
        if int(layer.attrs[name]) < 1:
            raise UnsupportedOpError(f"{layer.describe()}: {name}={layer.attrs[name]} must be >= 1")


def parse_datatype(layer: HWLayer, name: str) -> DataType:
    """Datatype named by attribute ``name``.

    Raises:
        UnsupportedOpError: if the attribute does not name a datatype.
    """
    try:
        return DataType.from_name(layer.attrs[name])
    except QnnccError:
        raise UnsupportedOpError(f"{layer.describe()}: {name}={layer.attrs[name]!r} is not a datatype") from None


def identity_stand_in(node: onnx.NodeProto, outputs: Sequence[str]) -> onnx.NodeProto:
    """A standard node whose ``outputs`` all get the shape of ``node.input[0]`` (shape inference only).

    An ``If`` whose two branches copy the outer-scope input to every output
    with ``Identity``; as in :func:`qnncc.custom_op.maxpool_nhwc.nhwc_pool_stand_in`
    the condition is the data tensor itself, since the node is only shape
    inferred (type checks off), never executed.
    """
    x = node.input[0]

    def branch(tag: str) -> onnx.GraphProto:
        names = [f"{out}__copy_{tag}" for out in outputs]
        nodes = [helper.make_node("Identity", [x], [name]) for name in names]
        infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names]
        return helper.make_graph(nodes, f"{outputs[0]}__copies_{tag}", [], infos)

    return helper.make_node("If", [x], list(outputs), then_branch=branch("then"), else_branch=branch("else"))


class PassThroughType(HWLayer):
    """A layer whose output datatype is its input's, named by the attribute ``datatype_attr``.

    FINN names that attribute ``inputDataType`` (FMPadding, DuplicateStreams)
    or ``dataType`` (StreamingMaxPool, StreamingDataWidthConverter, StreamingFIFO).
    """

    datatype_attr: ClassVar[str] = "inputDataType"

    @override
    def input_datatype(self, index: int = 0) -> DataType:
        return DataType.from_name(self.attrs[self.datatype_attr])

    @override
    def output_datatype(self, index: int = 0) -> DataType:
        return self.input_datatype()

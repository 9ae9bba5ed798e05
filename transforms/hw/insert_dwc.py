"""InsertDWC: StreamingDataWidthConverter nodes where a producer's word differs from its consumer's."""

from __future__ import annotations

import onnx
from typing_extensions import override

from qnncc.core.errors import UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import STREAM_PASS_THROUGH_OPS, is_hw
from qnncc.hw.layers.base import HWLayer

from ._util import hw_node, new_tensor, unique_node_name

__all__ = ["InsertDWC", "STREAM_PASS_THROUGH"]

#: Standard ops that leave a stream's element order unchanged (looked through).
STREAM_PASS_THROUGH = STREAM_PASS_THROUGH_OPS


def _stream_index(model: ModelWrapper, node: onnx.NodeProto, tensor: str) -> int:
    """Index of ``tensor`` among the node's stream (non-initializer) inputs."""
    streams = [t for t in node.input if t and model.get_initializer(t) is None]
    return streams.index(tensor)


class InsertDWC(Transformation):
    """Insert a width converter on every HW-to-HW stream whose words differ in elements.

    FINN's ``InsertDWC``: when producer ``A`` writes words of ``a`` elements
    (e.g. an MVAU's PE) and consumer ``B`` reads words of ``b`` (e.g. the next
    MVAU's SIMD), a ``StreamingDataWidthConverter`` with ``inWidth = a * bits``
    and ``outWidth = b * bits`` goes between them. Through shape-only nodes
    (Reshape/Flatten) the converter goes right after the producer when ``b``
    divides the producer's last dimension, else right before the consumer.
    Semantics are unchanged (the converter is the identity on the data).
    """

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for consumer in list(model.graph.node):
            if not is_hw(consumer) or consumer.op_type == "StreamingDataWidthConverter":
                continue
            cons = get_custom_op(consumer)
            assert isinstance(cons, HWLayer)
            for tensor in [t for t in consumer.input if t and model.get_initializer(t) is None]:
                src_tensor, producer = tensor, model.find_producer(tensor)
                while producer is not None and producer.op_type in STREAM_PASS_THROUGH:
                    src_tensor = producer.input[0]
                    producer = model.find_producer(src_tensor)
                if producer is None or not is_hw(producer):
                    continue
                prod = get_custom_op(producer)
                assert isinstance(prod, HWLayer)
                out_index = list(producer.output).index(src_tensor)
                a = prod.output_elems_per_word(out_index)
                b = cons.input_elems_per_word(_stream_index(model, consumer, tensor))
                if a == b:
                    continue
                self._insert(model, producer, prod, out_index, src_tensor, consumer, cons, tensor, a, b)
                changed = True
        return model, changed

    @staticmethod
    def _insert(
        model: ModelWrapper,
        producer: onnx.NodeProto,
        prod: HWLayer,
        out_index: int,
        src_tensor: str,
        consumer: onnx.NodeProto,
        cons: HWLayer,
        tensor: str,
        a: int,
        b: int,
    ) -> None:
        dt = prod.output_datatype(out_index)
        bits = dt.bitwidth()
        shape = list(prod.normal_output_shape(out_index))
        after_producer = shape[-1] % b == 0
        if not after_producer:
            shape = list(cons.normal_input_shape(_stream_index(model, consumer, tensor)))
        cut = src_tensor if after_producer else tensor
        new = new_tensor(model, f"{cut}_dwc", shape, dt)
        node = hw_node(
            "StreamingDataWidthConverter",
            [cut],
            [new],
            unique_node_name(model, "StreamingDataWidthConverter_"),
            dataType=dt.name,
            in_shape=shape,
            out_shape=shape,
            inWidth=a * bits,
            outWidth=b * bits,
        )
        if node is None:
            raise UnsupportedOpError(
                f"no legal width converter between {producer.name} and {consumer.name} ({a} -> {b})"
            )
        for other in model.graph.node:
            for i, t in enumerate(other.input):
                if t == cut:
                    other.input[i] = new
        model.graph.node.insert(model.get_node_index(producer) + 1, node)

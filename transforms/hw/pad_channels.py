"""PadChannels: widen the tensor between two fully connected MVAUs with channels of a constant value.

A folding must divide the matrix: ``PE | MH`` and ``SIMD | MW``. For a
1024 x 1024 layer every legal ``PE * SIMD`` is a power of two, so a layer
that must finish in 1000 cycles needs 2048 lanes (1024 lanes take 1024
cycles). Padding the channel count of the tensor between two MVAUs to,
e.g., 1050 = 2 * 3 * 5^2 * 7 opens foldings such as 25 x 40 = 1000 cycles
with 1092 lanes. The padded channels must not change what the model
computes; this pass makes them constant and invisible:

* the producer MVAU gets ``pad`` extra rows whose accumulator is known
  (integer weights: zero weights, so ``acc == 0``; XNOR-popcount: ``acc >= 0``
  always) and whose thresholds are all 0, so every threshold is passed and
  the padded outputs equal the layer's top value ``c`` (``ActVal + steps``;
  1 for a binary output);
* the consumer MVAU gets ``pad`` extra weight rows that make those inputs
  contribute nothing: weight 0 (integer weights), or ``1 - c`` for
  XNOR-popcount (``xnor(c, 1 - c) == 0``).

A link qualifies (:func:`paddable_link`) when the producer is an MVAU with
thresholds (or an integer MVAU without) whose output feeds exactly one node,
an MVAU reading it as its matrix input (``MW == MH`` of the producer), and
the datatypes allow the constants (0 in the weight and threshold types,
``c`` in the tensor's, ``c`` in {0, 1} for an XNOR consumer). The graph
outputs are unchanged; the differential tests execute the model before and
after (exact).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import onnx
from typing_extensions import override

from qnncc.core.datatype import DataType
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HWLayer
from qnncc.hw.layers.mvau import threshold_activation
from qnncc.hw.padding_opt import MAX_PAD, ChainLayer, choose_padding, padding_chains

__all__ = ["PadChannels", "PadLink", "padded_channels", "padded_value", "paddable_link", "paddable_links"]


@dataclass(frozen=True)
class PadLink:
    """A tensor between two MVAUs whose channel count may be padded.

    Attributes:
        tensor: the tensor name (``[..., C]``, channels last).
        producer: the MVAU writing it (its ``MH`` is ``channels``).
        consumer: the MVAU reading it (its ``MW`` is ``channels``).
        channels: the channel count today.
        value: the constant the padded channels hold (:func:`padded_value`).
    """

    tensor: str
    producer: str
    consumer: str
    channels: int
    value: float


def _dtype(model: ModelWrapper, node: onnx.NodeProto, attr: str) -> DataType:
    return DataType.from_name(str(model.get_nodeattr(node, attr)))


def padded_value(model: ModelWrapper, producer: onnx.NodeProto) -> float | None:
    """The value the producer's padded output channels take, or None if it cannot pad.

    Integer MVAU without thresholds: 0 (zero weights); with thresholds: the
    activation of an accumulator passing every threshold (all 0), computed
    by the layer's own :func:`threshold_activation`. An XNOR-popcount MVAU
    without thresholds outputs its popcount, which depends on the input: None.
    """
    if producer.op_type != "MVAU":
        return None
    xnor = bool(model.get_nodeattr(producer, "binaryXnorMode", 0))
    if not xnor and not _dtype(model, producer, "weightDataType").allowed(0):
        return None  # no zero weight (bipolar weights on integer inputs)
    if int(model.get_nodeattr(producer, "noActivation", 0)):
        return None if xnor else 0.0
    thr_name = producer.input[2]
    thr = model.get_initializer(thr_name)
    if thr is None or thr.ndim != 2 or not model.get_tensor_datatype(thr_name).allowed(0):
        return None
    layer = get_custom_op(producer)
    assert isinstance(layer, HWLayer)
    return float(threshold_activation(layer, np.zeros((1, 1)), np.zeros((1, thr.shape[1])))[0, 0])


def paddable_link(model: ModelWrapper, producer: onnx.NodeProto) -> PadLink | None:
    """The link from ``producer`` to its one MVAU consumer if its channels can be padded (else None)."""
    c = padded_value(model, producer)
    if c is None or model.get_initializer(producer.input[1]) is None:
        return None
    tensor = producer.output[0]
    consumers = model.find_consumers(tensor)
    if len(consumers) != 1 or tensor in model.graph_output_names():
        return None
    consumer = consumers[0]
    mh = int(model.get_nodeattr(producer, "MH"))
    if consumer.op_type != "MVAU" or list(consumer.input[:1]) != [tensor]:
        return None
    if int(model.get_nodeattr(consumer, "MW")) != mh or model.get_initializer(consumer.input[1]) is None:
        return None
    if not model.get_tensor_datatype(tensor).allowed(c):
        return None
    if model.get_nodeattr(consumer, "binaryXnorMode", 0):
        if c not in (0.0, 1.0):
            return None
    elif not _dtype(model, consumer, "weightDataType").allowed(0):
        return None
    return PadLink(tensor, producer.name, consumer.name, mh, c)


def paddable_links(model: ModelWrapper) -> list[PadLink]:
    """Every paddable MVAU-to-MVAU link of the graph, in node order."""
    links = [paddable_link(model, n) for n in model.graph.node]
    return [link for link in links if link is not None]


def _refold(model: ModelWrapper, node: onnx.NodeProto, attr: str, dim: int) -> None:
    """Keep a folding attribute legal for a new dimension (the largest common divisor)."""
    value = int(model.get_nodeattr(node, attr, 1))
    if dim % value:
        model.set_nodeattr(node, attr, int(np.gcd(value, dim)))


class PadChannels(Transformation):
    """Pad the channels of MVAU-to-MVAU tensors to the given counts (see the module docstring).

    Args:
        channels: tensor name -> padded channel count (at least today's).

    Raises:
        QnnccError: naming the tensor, if it is not a paddable link
            (:func:`paddable_link`) or the count is below today's.
    """

    def __init__(self, channels: Mapping[str, int]) -> None:
        super().__init__()
        self.channels = dict(channels)

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        changed = False
        for tensor, count in self.channels.items():
            producer = model.find_producer(tensor)
            link = paddable_link(model, producer) if producer is not None else None
            if link is None:
                raise QnnccError(f"tensor {tensor!r}: not a paddable MVAU-to-MVAU link")
            if count < link.channels:
                raise QnnccError(f"tensor {tensor!r}: cannot pad {link.channels} channels down to {count}")
            if count > link.channels:
                assert producer is not None
                _pad(model, producer, link, count)
                changed = True
        return model, changed


def _pad(model: ModelWrapper, producer: onnx.NodeProto, link: PadLink, count: int) -> None:
    """Pad ``link`` to ``count`` channels (producer rows, tensor shape, consumer weight rows)."""
    pad = count - link.channels
    w = model.get_initializer(producer.input[1])
    assert w is not None  # [MW, MH]
    model.set_initializer(producer.input[1], np.pad(w, ((0, 0), (0, pad))).astype(w.dtype))
    if not int(model.get_nodeattr(producer, "noActivation", 0)):
        thr = model.get_initializer(producer.input[2])
        assert thr is not None  # [MH or 1, steps]
        thr = np.broadcast_to(thr, (link.channels, thr.shape[1]))
        model.set_initializer(producer.input[2], np.pad(thr, ((0, pad), (0, 0))).astype(thr.dtype))
    model.set_nodeattr(producer, "MH", count)
    model.set_nodeattr(producer, "padOutputs", int(model.get_nodeattr(producer, "padOutputs", 0)) + pad)
    _refold(model, producer, "PE", count)
    shape = model.get_tensor_shape(link.tensor)
    if shape is not None:
        model.set_tensor_shape(link.tensor, [*shape[:-1], count])
    consumer = model.get_node_by_name(link.consumer)
    assert consumer is not None
    cw = model.get_initializer(consumer.input[1])
    assert cw is not None  # [MW, MH]
    fill = 1.0 - link.value if model.get_nodeattr(consumer, "binaryXnorMode", 0) else 0.0
    model.set_initializer(consumer.input[1], np.pad(cw, ((0, pad), (0, 0)), constant_values=fill).astype(cw.dtype))
    model.set_nodeattr(consumer, "MW", count)
    _refold(model, consumer, "SIMD", count)


def _chain_layer(model: ModelWrapper, name: str) -> ChainLayer:
    """The padding choice's view of an MVAU: dimensions, vectors per frame and its drain cycles."""
    from qnncc.hw.perf import estimate_layer

    node = model.get_node_by_name(name)
    assert node is not None
    layer = get_custom_op(node)
    assert isinstance(layer, HWLayer)
    drain = estimate_layer(node.op_type, layer.attrs, emitted=True).drain_cycles
    vectors = int(math.prod(list(layer.attrs["numInputVectors"])[1:]))
    return ChainLayer(name, int(layer.attrs["MW"]), int(layer.attrs["MH"]), vectors, drain)


def padded_channels(model: ModelWrapper, max_cycles: int, max_pad: float = MAX_PAD) -> dict[str, int]:
    """Tensor name -> padded channel count for the paddable links of ``model`` worth padding.

    Links come from :func:`paddable_links`; each chain is padded as
    :func:`qnncc.hw.padding_opt.choose_padding` picks for ``max_cycles``
    cycles per frame (the performance model's, drain cycles included) when
    that needs fewer lanes than today's counts. Links left as they are do not
    appear.
    """
    links = {link.tensor: link for link in paddable_links(model)}
    out: dict[str, int] = {}
    for chain in padding_chains([(t, link.producer, link.consumer) for t, link in links.items()]):
        names = [p for _, p in chain] + [links[chain[-1][0]].consumer]
        layers = [_chain_layer(model, name) for name in names]
        today = choose_padding(layers, max_cycles, 0.0)
        padded = choose_padding(layers, max_cycles, max_pad)
        if padded is None or (today is not None and today[1] <= padded[1]):
            continue
        out.update({t: n for (t, _), n in zip(chain, padded[0], strict=True) if n != links[t].channels})
    return out

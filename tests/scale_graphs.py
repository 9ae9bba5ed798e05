"""Seeded QONNX exports of FINN's published example networks, built without torch.

Three builders, each returning a :class:`qnncc.ModelWrapper` laid out the way
Brevitas' dynamo QONNX export writes these topologies (compare
``tests/data/brevitas_dev/*/model_qonnx.onnx``): an unsigned 8-bit input
``Quant`` with scale 1/255, weights through ``Quant`` (per output channel
scale ``[OC, 1, 1, 1]``) or ``BipolarQuant``, ``Conv`` without bias followed
by ``BatchNormalization``, ``Relu`` + unsigned ``Quant`` activations,
``Reshape([1, -1], allowzero=1)`` before the classifier and a float
``Gemm`` head (logits):

* :func:`cnv` -- FINN's CNV (BNN-PYNQ): 3x32x32 scaled to ``2x - 1`` and quantized to
  signed 8 bits with scale 2**-7 (Brevitas' CNV), six 3x3 convolutions without
  padding (64, 64, 128, 128, 256, 256 channels, a 2x2 max pool after the
  2nd and 4th), two 512-wide fully connected layers, 10 classes. W1A1 uses
  ``BipolarQuant`` weights and activations, W2A2 2-bit narrow weights and
  signed 2-bit activations; the last layer is followed by Brevitas'
  ``TensorNorm`` (per-class ``Mul`` + ``Add``).
* :func:`mobilenet_v1` -- Brevitas' ImageNet MobileNet-v1 (W4A4): an 8-bit
  3x3/2 stem, 13 depthwise-separable blocks (depthwise 3x3 + pointwise 1x1),
  activations scaled per channel where Brevitas does (stem and pointwise
  outputs feeding a depthwise conv), ``TruncAvgPool2d`` exported as
  ``AveragePool(k=H) -> Mul(k*k) -> Trunc(FLOOR)`` and an 8-bit classifier.
* :func:`resnet50` -- ResNet-50 W1A2 (FINN's Alveo example): 8-bit 7x7/2 stem
  conv, 3x3/2 max pool with padding 1, bottlenecks 3-4-6-3 with 1-bit weights
  and 2-bit activations, residual ``Add`` whose two inputs go through one
  shared signed quantizer, ``AveragePool -> Mul -> Trunc`` global pool and an
  8-bit classifier.

``width`` scales every channel count and ``resolution`` the input size, so CI
runs the same topologies at a small size. Weights and statistics come from
``numpy.random.default_rng(seed)``: bit-exactness, not accuracy, is checked.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from qnncc import ModelWrapper

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSET = 20  # as Brevitas' dynamo export (torch 2.x)


class Exporter:
    """Accumulates nodes and initializers of one graph with seeded random values."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0
        self.scales: dict[str, np.ndarray | float | str] = {}  # output of a Quant -> its scale

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value: np.ndarray | float, base: str = "c") -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def int64(self, value: list[int]) -> str:
        name = self.name("shape")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.int64), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: object) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def scale_input(self, scale: np.ndarray | float | str) -> str:
        return scale if isinstance(scale, str) else self.const(scale, "scale")

    # ------------------------------------------------------------ quantizers

    def quant(self, x: str, scale: np.ndarray | float | str, bits: int, signed: bool, narrow: bool = False) -> str:
        """Brevitas ``Quant`` (ROUND) with zero point 0; a ``str`` scale names an existing (shared) initializer."""
        out = self.op(
            "Quant",
            [x, self.scale_input(scale), self.const(0.0, "zeropt"), self.const(float(bits), "bits")],
            domain=QONNX_DOMAIN,
            rounding_mode="ROUND",
            signed=int(signed),
            narrow=int(narrow),
        )
        self.scales[out] = scale
        return out

    def act_scale(self, channels: int, bits: int, per_channel: bool) -> np.ndarray:
        """An activation scale: per tensor ``[]`` or per channel ``[1, C, 1, 1]`` (Brevitas' broadcastable shape)."""
        if not per_channel:
            return np.float32(self.rng.uniform(0.4, 0.8) * 3 / (2**bits - 1))
        return self.rng.uniform(0.4, 0.8, (1, channels, 1, 1)).astype(np.float32) * 3 / (2**bits - 1)

    def relu_quant(self, x: str, channels: int, bits: int, per_channel: bool = False) -> str:
        """``QuantReLU``: Relu then an unsigned Quant."""
        return self.quant(self.op("Relu", [x]), self.act_scale(channels, bits, per_channel), bits, signed=False)

    def weight(self, shape: tuple[int, ...], bits: int) -> str:
        """A quantized weight: ``BipolarQuant`` for 1 bit, else a narrow signed ``Quant``; scales per output channel."""
        w = self.rng.normal(0.0, 1.0, shape).astype(np.float32)
        scale_shape = (shape[0],) + (1,) * (len(shape) - 1)
        scale = self.rng.uniform(0.5, 1.5, scale_shape).astype(np.float32)
        if bits == 1:
            return self.op("BipolarQuant", [self.const(w, "w"), self.const(scale, "scale")], domain=QONNX_DOMAIN)
        scale = scale / (2 ** (bits - 1) - 1)
        return self.op(
            "Quant",
            [
                self.const(w * scale * 2 ** (bits - 2), "w"),
                self.const(scale, "scale"),
                self.const(0.0, "zeropt"),
                self.const(float(bits), "bits"),
            ],
            domain=QONNX_DOMAIN,
            rounding_mode="ROUND",
            signed=1,
            narrow=1,
        )

    # ------------------------------------------------------------ layers

    def conv(self, x: str, cin: int, cout: int, kernel: int, stride: int, pad: int, bits: int, group: int = 1) -> str:
        w = self.weight((cout, cin // group, kernel, kernel), bits)
        return self.op(
            "Conv", [x, w], group=group, pads=[pad] * 4, auto_pad="NOTSET", strides=[stride] * 2,
            dilations=[1, 1], kernel_shape=[kernel] * 2,
        )  # fmt: skip

    def bn(self, x: str, channels: int, fan_in: int) -> str:
        """BatchNormalization with statistics roughly matching a conv over ``fan_in`` inputs."""
        std = math.sqrt(max(fan_in, 1))
        params = [
            self.rng.uniform(0.5, 1.5, channels),
            self.rng.normal(0.0, 0.5, channels),
            self.rng.normal(0.0, 0.3 * std, channels),
            self.rng.uniform(0.5, 1.5, channels) * fan_in,
        ]
        names = [self.const(p.astype(np.float32), "bn") for p in params]
        return self.op("BatchNormalization", [x, *names], epsilon=1e-5, momentum=0.9)

    def max_pool(self, x: str, kernel: int, stride: int, pad: int) -> str:
        return self.op(
            "MaxPool", [x], storage_order=0, dilations=[1, 1], ceil_mode=0, pads=[pad] * 4,
            auto_pad="NOTSET", strides=[stride] * 2, kernel_shape=[kernel] * 2,
        )  # fmt: skip

    def trunc_avg_pool(self, x: str, kernel: int, in_bits: int, out_bits: int) -> str:
        """Brevitas ``TruncAvgPool2d`` export: ``AveragePool -> Mul(k*k) -> Trunc(FLOOR)`` (k x k, stride 1).

        ``x`` is the output of a per-tensor ``Quant``; the ``Trunc`` keeps its scale.
        """
        scale = self.scales[x]
        avg = self.op(
            "AveragePool", [x], kernel_shape=[kernel] * 2, strides=[1, 1], pads=[0] * 4, ceil_mode=0,
            count_include_pad=0, auto_pad="NOTSET",
        )  # fmt: skip
        acc_bits = in_bits + math.ceil(math.log2(kernel * kernel))
        total = self.op("Mul", [avg, self.const(np.float32(kernel * kernel), "k2")])
        inputs = [total, self.scale_input(scale), self.const(0.0, "zeropt"), self.const(float(acc_bits), "bits"),
                  self.const(float(out_bits), "bits")]  # fmt: skip
        return self.op("Trunc", inputs, domain=QONNX_DOMAIN, rounding_mode="FLOOR")

    def flatten(self, x: str, features: int) -> str:
        """``x.view(1, -1)`` as the dynamo export writes it."""
        return self.op("Reshape", [x, self.int64([1, features])], allowzero=1)

    def linear(self, x: str, cin: int, cout: int, bits: int, bias: bool = True) -> str:
        inputs = [x, self.weight((cout, cin), bits)]
        if bias:
            inputs.append(self.const(self.rng.normal(0.0, 0.1, cout).astype(np.float32), "bias"))
        return self.op("Gemm", inputs, alpha=1.0, beta=1.0, transA=0, transB=1)

    def model(self, x: str, shape: list[int], y: str, outputs: int, name: str) -> ModelWrapper:
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, outputs])],
            self.inits,
        )
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, 2)]
        proto = helper.make_model(graph, opset_imports=opsets, producer_name="tests.scale_graphs")
        proto.ir_version = 10
        return ModelWrapper(proto)


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _input(e: Exporter) -> str:
    return e.quant("x", np.float32(1 / 255), 8, signed=False)


# ---------------------------------------------------------------------- CNV


def cnv(weight_bits: int = 2, act_bits: int = 2, width: float = 1.0, seed: int = 0) -> ModelWrapper:
    """FINN's CNV-WxAy for CIFAR-10, input ``[1, 3, 32, 32]`` (pixels/255), logits ``[1, 10]``.

    Args:
        weight_bits: 1 (``BipolarQuant``) or 2..8.
        act_bits: 1 (``BipolarQuant`` activations) or 2..8 (signed ``Quant``).
        width: multiplier of every channel count (1.0: 64..256 conv, 512 FC).
        seed: seed of every random value.
    """
    e = Exporter(seed)
    # Brevitas' CNV: x = 2x - 1, then a signed 8-bit QuantIdentity with the power-of-two scale 2**-7
    centred = e.op("Sub", [e.op("Mul", ["x", e.const(np.float32(2.0))]), e.const(np.float32(1.0))])
    x = e.quant(centred, np.float32(2.0**-7), 8, signed=True)
    cin = 3

    def act(t: str, channels: int) -> str:
        if act_bits == 1:
            return e.op("BipolarQuant", [t, e.const(1.0, "scale")], domain=QONNX_DOMAIN)
        return e.quant(t, np.float32(2.0 ** (1 - act_bits)), act_bits, signed=True)

    for channels, pool in ((64, False), (64, True), (128, False), (128, True), (256, False), (256, False)):
        c = _scaled(channels, width)
        x = act(e.bn(e.conv(x, cin, c, 3, 1, 0, weight_bits), c, 9 * cin), c)
        if pool:
            x = e.max_pool(x, 2, 2, 0)
        cin = c
    x = e.flatten(x, cin)
    for features in (512, 512):
        f = _scaled(features, width)
        x = act(e.bn(e.linear(x, cin, f, weight_bits, bias=False), f, cin), f)
        cin = f
    y = e.linear(x, cin, 10, weight_bits, bias=False)
    y = e.op("Add", [e.op("Mul", [y, e.const(e.rng.uniform(0.5, 1.5, 10).astype(np.float32))]),
                     e.const(e.rng.normal(0, 0.1, 10).astype(np.float32))])  # fmt: skip
    return e.model("x", [1, 3, 32, 32], y, 10, f"cnv_w{weight_bits}a{act_bits}")


# ---------------------------------------------------------------------- MobileNet-v1

MOBILENET_STAGES = ((64,), (128, 128), (256, 256), (512,) * 6, (1024, 1024))


def mobilenet_v1(
    width: float = 1.0, resolution: int = 224, classes: int = 1000, bits: int = 4, seed: int = 0
) -> ModelWrapper:
    """Brevitas' MobileNet-v1 W4A4, input ``[1, 3, R, R]`` (pixels/255), logits ``[1, classes]``.

    Args:
        width: channel multiplier (1.0: 32..1024 channels).
        resolution: input height and width ``R``, a multiple of 32 (the final pool is ``R/32``).
        classes: classifier outputs.
        bits: weight and activation bits inside (the stem and classifier weights are 8-bit).
        seed: seed of every random value.
    """
    if resolution % 32:
        raise ValueError(f"resolution {resolution} is not a multiple of 32")
    e = Exporter(seed)
    c = _scaled(32, width)
    x = e.relu_quant(e.bn(e.conv(_input(e), 3, c, 3, 2, 1, 8), c, 27), c, bits, per_channel=True)
    blocks = [
        (ch, 2 if (i > 0 and j == 0) else 1) for i, stage in enumerate(MOBILENET_STAGES) for j, ch in enumerate(stage)
    ]
    for k, (channels, stride) in enumerate(blocks):
        out = _scaled(channels, width)
        x = e.relu_quant(e.bn(e.conv(x, c, c, 3, stride, 1, bits, group=c), c, 9), c, bits)
        last = k == len(blocks) - 1
        scale = e.act_scale(out, bits, per_channel=not last)
        x = e.quant(e.op("Relu", [e.bn(e.conv(x, c, out, 1, 1, 0, bits), out, c)]), scale, bits, signed=False)
        c = out
    x = e.trunc_avg_pool(x, resolution // 32, bits, bits)
    y = e.linear(e.flatten(x, c), c, classes, 8)
    return e.model("x", [1, 3, resolution, resolution], y, classes, "mobilenet_v1_w4a4")


# ---------------------------------------------------------------------- ResNet-50

RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))


def _bottleneck(e: Exporter, x: str, cin: int, mid: int, stride: int, wbits: int, abits: int) -> str:
    """Conv1x1-BN-ReLU-Q, Conv3x3(stride)-BN-ReLU-Q, Conv1x1-BN-Q(s) + Q(s)(shortcut) -> Add -> ReLU-Q."""
    out = 4 * mid
    shared = e.const(e.act_scale(out, abits, per_channel=False), "scale")  # one scale on both Add inputs
    y = e.relu_quant(e.bn(e.conv(x, cin, mid, 1, 1, 0, wbits), mid, cin), mid, abits)
    y = e.relu_quant(e.bn(e.conv(y, mid, mid, 3, stride, 1, wbits), mid, 9 * mid), mid, abits)
    y = e.quant(e.bn(e.conv(y, mid, out, 1, 1, 0, wbits), out, mid), shared, abits, signed=True)
    if stride != 1 or cin != out:
        x = e.bn(e.conv(x, cin, out, 1, stride, 0, wbits), out, cin)
    shortcut = e.quant(x, shared, abits, signed=True)
    return e.relu_quant(e.op("Add", [shortcut, y]), out, abits)


def resnet50(
    width: float = 1.0,
    resolution: int = 224,
    classes: int = 1000,
    weight_bits: int = 1,
    act_bits: int = 2,
    pool_bits: int = 4,
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3),
    seed: int = 0,
) -> ModelWrapper:
    """ResNet-50 WxAy (FINN's U250 example is W1A2), input ``[1, 3, R, R]`` (pixels/255), logits ``[1, classes]``.

    Args:
        width: channel multiplier (1.0: 64..2048 channels).
        resolution: input height and width ``R``, a multiple of 32 (the global pool is ``R/32``).
        classes: classifier outputs.
        weight_bits: weight bits inside the bottlenecks (1: ``BipolarQuant``); stem and classifier are 8-bit.
        act_bits: activation bits.
        pool_bits: output bits of the truncating global average pool.
        blocks: bottlenecks per stage (ResNet-50: 3, 4, 6, 3; fewer for quick tests).
        seed: seed of every random value.
    """
    if resolution % 32:
        raise ValueError(f"resolution {resolution} is not a multiple of 32")
    e = Exporter(seed)
    c = _scaled(64, width)
    x = e.relu_quant(e.bn(e.conv(_input(e), 3, c, 7, 2, 3, 8), c, 147), c, act_bits)
    x = e.max_pool(x, 3, 2, 1)
    for (channels, _, stride), count in zip(RESNET50_STAGES, blocks, strict=True):
        mid = _scaled(channels, width)
        for k in range(count):
            x = _bottleneck(e, x, c, mid, stride if k == 0 else 1, weight_bits, act_bits)
            c = 4 * mid
    x = e.trunc_avg_pool(x, resolution // 32, act_bits, pool_bits)
    y = e.linear(e.flatten(x, c), c, classes, 8)
    return e.model("x", [1, 3, resolution, resolution], y, classes, f"resnet50_w{weight_bits}a{act_bits}")

"""Hypothesis strategies for tiny random quantized networks in QONNX form (Brevitas-style exports).

A drawn :class:`GraphSpec` describes the architecture (layer kinds, bit widths,
quantizer flavours, optional batch norms and affine ops, the head) plus a
``seed`` from which :func:`build_case` derives every numeric value with numpy.
Hypothesis shrinks the structure, so a failing property reports a small,
readable spec; ``build_case(spec)`` rebuilds the exact graph and inputs.

Graphs follow what Brevitas exports (and FINN's ``ConvertQONNXtoFINN``
expects): an optional unsigned 8-bit input ``Quant``; weights through a signed
``Quant`` (per-tensor scale, or per output channel ``[N, 1]`` for ``Gemm``,
``[OC, 1, 1, 1]`` for ``Conv``) or a ``BipolarQuant``; ``Gemm`` with
``transB=1`` or ``MatMul``; ``BatchNormalization``; activations ``Relu ->
Quant`` (unsigned), signed ``Quant``, ``BipolarQuant`` or ``Sign``; ``MaxPool``;
residual blocks whose two branches are re-quantized with one shared scale
before the ``Add``.

With ``spec.dyadic`` every scale is a power of two and every other constant
and input lies on a coarse dyadic grid, so all float32 arithmetic in the
graph is exact, before and after any algebraic rewrite: such cases are
compared bit for bit even where the output is a float, and rounding ties
occur inside the network (not only at the input quantizer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from qnncc import ModelWrapper

QONNX_DOMAIN = "qonnx.custom_op.general"
OPSET = 13

# ----------------------------------------------------------------- specs


@dataclass(frozen=True)
class WeightSpec:
    """Weight quantizer: ``Quant`` (signed, ``bits``, ``narrow``) or ``BipolarQuant``."""

    bipolar: bool = False
    bits: int = 4
    narrow: bool = True
    per_channel: bool = True


@dataclass(frozen=True)
class ActSpec:
    """Activation after a layer.

    kind: ``relu_quant`` (Relu + unsigned Quant), ``quant`` (signed Quant, no
    Relu), ``bipolar`` (BipolarQuant), ``sign`` (Sign) or ``none``.
    """

    kind: str = "relu_quant"
    bits: int = 4
    narrow: bool = False
    per_channel: bool = False
    rounding: str = "ROUND"
    zero_point: float = 0.0  # zero-point of an activation Quant (asymmetric quantization)


@dataclass(frozen=True)
class DenseSpec:
    """Fully connected layer: weight quantizer -> Gemm/MatMul [+bias] [-> BN] [-> affine] -> act."""

    features: int = 4
    weight: WeightSpec = field(default_factory=WeightSpec)
    op: str = "gemm"  # "gemm" (transB=1, Brevitas) or "matmul" (weights [in, out])
    bias: bool = False
    bn: bool = False
    affine: str = "none"  # see AFFINES
    act: ActSpec = field(default_factory=ActSpec)


@dataclass(frozen=True)
class ConvSpec:
    """Convolution: weight quantizer -> Conv [+bias] [-> BN] [-> affine] -> act."""

    channels: int = 2
    kernel: int = 3
    stride: int = 1
    pad: int = 1
    depthwise: bool = False
    weight: WeightSpec = field(default_factory=WeightSpec)
    bias: bool = False
    bn: bool = False
    affine: str = "none"
    act: ActSpec = field(default_factory=ActSpec)


@dataclass(frozen=True)
class PoolSpec:
    """MaxPool 2x2, stride 2."""


@dataclass(frozen=True)
class ResidualSpec:
    """Brevitas residual block: Quant(x, s) + [Conv-BN-Relu-Quant-Conv-BN-Quant(s)] -> Relu -> Quant."""

    kernel: int = 3
    weight: WeightSpec = field(default_factory=WeightSpec)
    bits: int = 3
    bn: bool = True


Layer = DenseSpec | ConvSpec | PoolSpec | ResidualSpec

#: affine ops that may follow a layer (scalar or per channel ``_c``; ``neg``: mixed-sign factors).
AFFINES = ("none", "mul", "mul_c", "add", "add_c", "sub", "div", "mul_c_neg", "mul_neg", "mul_add_c")


@dataclass(frozen=True)
class GraphSpec:
    """A whole network."""

    kind: str  # "mlp" or "cnn"
    batch: int
    input_shape: tuple[int, ...]  # without the batch dimension
    input_quant: str  # "none", "u8_255" (scale 1/255), "u8_random"
    layers: tuple[Layer, ...]
    flatten: str  # "flatten", "reshape" (4-D inputs only) or "none"
    head_weight: WeightSpec
    head_op: str  # "gemm" or "matmul"
    head_bias: bool
    classes: int
    head: str  # "float" (logits), "quant" (signed Quant of the logits), "topk" (indices)
    dyadic: bool
    seed: int

    @property
    def exact(self) -> bool:
        """Whether outputs must agree bit for bit (dyadic arithmetic, or a quantized/index head)."""
        return self.dyadic or self.head in ("quant", "topk")


# ----------------------------------------------------------------- strategies

ROUNDINGS = ("ROUND", "ROUND", "ROUND", "FLOOR", "HALF_UP", "CEIL")


@st.composite
def weight_specs(draw: st.DrawFn) -> WeightSpec:
    bipolar = draw(st.integers(0, 7)) == 0  # BipolarQuant weights in ~1/8 of the layers
    return WeightSpec(
        bipolar=bipolar,
        bits=draw(st.integers(2, 8)),
        narrow=draw(st.booleans()),
        per_channel=draw(st.booleans()),
    )


ACT_KINDS = ("relu_quant", "quant", "bipolar", "sign", "none")


@st.composite
def act_specs(draw: st.DrawFn, dyadic: bool = False) -> ActSpec:
    # dyadic graphs stay exact only while activations re-quantize: without, mantissas outgrow float32
    kind = draw(st.sampled_from(ACT_KINDS[:-1] if dyadic else ACT_KINDS))
    return ActSpec(
        kind=kind,
        bits=draw(st.integers(1 if kind == "quant" else 2, 8)),
        narrow=draw(st.booleans()),
        per_channel=draw(st.booleans()) and draw(st.booleans()),  # ~1/4
        rounding=draw(st.sampled_from(ROUNDINGS)),
        zero_point=draw(st.sampled_from((0.0, 0.0, 0.0, 0.0, 1.0, -2.0, 3.0, 0.5))),
    )


@st.composite
def dense_specs(draw: st.DrawFn, dyadic: bool = False) -> DenseSpec:
    return DenseSpec(
        features=draw(st.integers(2, 16)),
        weight=draw(weight_specs()),
        op=draw(st.sampled_from(("gemm", "matmul"))),
        bias=draw(st.booleans()),
        bn=draw(st.booleans()),
        affine=draw(st.sampled_from(AFFINES)),
        act=draw(act_specs(dyadic)),
    )


@st.composite
def conv_specs(draw: st.DrawFn, dyadic: bool = False) -> ConvSpec:
    return ConvSpec(
        channels=draw(st.integers(1, 6)),
        kernel=draw(st.sampled_from((3, 1))),
        stride=draw(st.sampled_from((1, 2))),
        pad=draw(st.sampled_from((1, 0))),
        depthwise=draw(st.booleans()) and draw(st.booleans()),
        weight=draw(weight_specs()),
        bias=draw(st.booleans()),
        bn=draw(st.booleans()),
        affine=draw(st.sampled_from(AFFINES)),
        act=draw(act_specs(dyadic)),
    )


@st.composite
def residual_specs(draw: st.DrawFn) -> ResidualSpec:
    return ResidualSpec(
        kernel=draw(st.sampled_from((3, 1))),
        weight=draw(weight_specs()),
        bits=draw(st.integers(2, 6)),
        bn=draw(st.booleans()),
    )


@st.composite
def graph_specs(draw: st.DrawFn, kinds: tuple[str, ...] = ("mlp", "cnn")) -> GraphSpec:
    """Strategy for :class:`GraphSpec` (tiny: batch 1..4, channels 1..6, spatial 4..10, features 2..16)."""
    kind = draw(st.sampled_from(kinds))
    dyadic = draw(st.booleans())
    batch = draw(st.integers(1, 4))
    if kind == "mlp":
        image = draw(st.booleans()) and draw(st.booleans())
        if image:
            shape: tuple[int, ...] = (draw(st.integers(1, 2)), draw(st.integers(2, 4)), draw(st.integers(2, 4)))
        else:
            shape = (draw(st.integers(2, 16)),)
        layers: tuple[Layer, ...] = tuple(draw(st.lists(dense_specs(dyadic), min_size=0, max_size=3)))
        flatten = draw(st.sampled_from(("flatten", "reshape"))) if image else "none"
    else:
        shape = (draw(st.integers(1, 6)), draw(st.integers(4, 10)), draw(st.integers(4, 10)))
        items = st.one_of(conv_specs(dyadic), conv_specs(dyadic), st.just(PoolSpec()), residual_specs())
        layers = tuple(draw(st.lists(items, min_size=1, max_size=3)))
        flatten = draw(st.sampled_from(("flatten", "reshape")))
    return GraphSpec(
        kind=kind,
        batch=batch,
        input_shape=shape,
        input_quant=draw(st.sampled_from(("u8_255", "none", "u8_random"))),
        layers=layers,
        flatten=flatten,
        head_weight=draw(weight_specs()),
        head_op=draw(st.sampled_from(("gemm", "matmul"))),
        head_bias=draw(st.booleans()),
        classes=draw(st.integers(2, 10)),
        head=draw(st.sampled_from(("float", "quant", "topk"))),
        dyadic=dyadic,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def residual_cnn_specs(draw: st.DrawFn) -> GraphSpec:
    """Strategy for CNNs built around residual blocks that the whole HW flow can map (batch 1).

    An unsigned 8-bit input quantizer, an optional first convolution with a
    per-tensor ``relu_quant`` activation, one or two Brevitas residual blocks
    (shared-scale quantizers before the ``Add``, integer weights), optional
    2x2 max pools, and a fully connected head (float logits, quantized
    logits or top-1 indices). Every op before the head has a HW layer.
    """
    dyadic = draw(st.booleans())
    layers: list[Layer] = []
    if draw(st.booleans()):
        layers.append(
            ConvSpec(
                channels=draw(st.integers(1, 4)),
                kernel=draw(st.sampled_from((3, 1))),
                pad=draw(st.sampled_from((1, 0))),
                weight=WeightSpec(bits=draw(st.integers(2, 6)), per_channel=draw(st.booleans())),
                bn=draw(st.booleans()),
                act=ActSpec(kind="relu_quant", bits=draw(st.integers(2, 5))),
            )
        )
    for _ in range(draw(st.integers(1, 2))):
        layers.append(
            ResidualSpec(
                kernel=draw(st.sampled_from((3, 1))),
                weight=WeightSpec(bits=draw(st.integers(2, 6)), per_channel=draw(st.booleans())),
                bits=draw(st.integers(2, 6)),
                bn=draw(st.booleans()),
            )
        )
        if draw(st.integers(0, 3)) == 0:
            layers.append(PoolSpec())
    size = draw(st.sampled_from((4, 6, 8)))
    return GraphSpec(
        kind="cnn",
        batch=1,
        input_shape=(draw(st.integers(1, 3)), size, size),
        input_quant=draw(st.sampled_from(("u8_255", "u8_random"))),
        layers=tuple(layers),
        flatten=draw(st.sampled_from(("flatten", "reshape"))),
        head_weight=WeightSpec(bits=draw(st.integers(2, 6)), per_channel=draw(st.booleans())),
        head_op=draw(st.sampled_from(("gemm", "matmul"))),
        head_bias=draw(st.booleans()),
        classes=draw(st.integers(2, 10)),
        head=draw(st.sampled_from(("float", "quant", "topk"))),
        dyadic=dyadic,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# ----------------------------------------------------------------- building


@dataclass
class Case:
    """A built graph with its inputs."""

    spec: GraphSpec
    model: ModelWrapper
    feeds: list[dict[str, np.ndarray]]
    magnitude: float  # typical magnitude of the head's terms, a floor for float comparisons

    @property
    def exact(self) -> bool:
        """Whether the outputs must agree bit for bit."""
        return self.spec.exact


class _Builder:
    """Accumulates nodes and initializers; tracks the current tensor's shape and typical magnitude."""

    def __init__(self, spec: GraphSpec) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.dyadic = spec.dyadic
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0

    # --- naming and nodes
    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray | float, hint: str = "c", dtype: type = np.float32) -> str:
        name = self.fresh(hint)
        self.inits[name] = np.asarray(value, dtype=dtype)
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, outputs: int = 1, **attrs: object) -> str:
        outs = [self.fresh(hint or op.lower()) for _ in range(outputs)]
        domain = QONNX_DOMAIN if op in ("Quant", "BipolarQuant") else ""
        self.nodes.append(helper.make_node(op, inputs, outs, name=f"{op}_{self.count}", domain=domain, **attrs))
        return outs[0]

    # --- numbers
    def pow2(self, value: np.ndarray | float) -> np.ndarray:
        """Nearest power of two (elementwise, keeping the sign)."""
        v = np.asarray(value, dtype=np.float64)
        return (np.sign(v) * 2.0 ** np.round(np.log2(np.abs(v)))).astype(np.float32)

    def grid(self, value: np.ndarray | float, step: float) -> np.ndarray:
        return (np.round(np.asarray(value, dtype=np.float64) / step) * step).astype(np.float32)

    def positive(self, target: np.ndarray | float) -> np.ndarray:
        """A positive scale near ``target``: a power of two when dyadic, else jittered."""
        t = np.maximum(np.asarray(target, dtype=np.float64), 1e-3)
        if self.dyadic:
            return self.pow2(t)
        return (t * np.exp(self.rng.uniform(-0.4, 0.4, size=t.shape))).astype(np.float32)

    def offset(self, size: int | tuple[int, ...], magnitude: float) -> np.ndarray:
        """Random offsets of about ``magnitude`` (on a coarse grid when dyadic)."""
        v = self.rng.normal(0.0, magnitude, size=size)
        if self.dyadic:
            step = float(2.0 ** (np.floor(np.log2(max(magnitude, 1e-3))) - 3))
            return self.grid(v, step)
        return v.astype(np.float32)

    # --- quantizers
    def weight(self, ws: WeightSpec, shape: tuple[int, ...], out_axis: int) -> str:
        """Quantized weights of ``shape``; the per-channel scale varies along ``out_axis``."""
        w = self.rng.normal(0.0, 1.0, size=shape).astype(np.float32)
        sshape = [1] * len(shape)
        if ws.per_channel:
            sshape[out_axis] = shape[out_axis]
        red = tuple(i for i in range(len(shape)) if not (ws.per_channel and i == out_axis))
        peak = np.max(np.abs(w), axis=red, keepdims=True).reshape(sshape) if ws.per_channel else np.max(np.abs(w))
        if ws.bipolar:
            scale = self.positive(np.asarray(peak) * 0.5)
            scale_name = self.const(scale.reshape(sshape) if ws.per_channel else scale.reshape(()), "wscale")
            return self.node("BipolarQuant", [self.const(w, "w"), scale_name], "wq")
        top = 2 ** (ws.bits - 1) - 1
        scale = self.positive(np.asarray(peak) / top)
        scale_name = self.const(scale.reshape(sshape) if ws.per_channel else scale.reshape(()), "wscale")
        narrow = int(ws.narrow)
        return self.node(
            "Quant",
            [self.const(w, "w"), scale_name, self.const(0.0, "zp"), self.const(float(ws.bits), "bw")],
            "wq",
            signed=1,
            narrow=narrow,
            rounding_mode="ROUND",
        )

    def channel_shape(self, rank: int, channels: int) -> list[int]:
        """A per-channel parameter shape: ``[1, C, 1, ...]``, or ``[C, 1, ...]`` (also broadcasts on axis 1)."""
        shape = [1] * rank
        shape[1] = channels
        return shape[1:] if self.rng.random() < 0.3 else shape

    def act(self, a: ActSpec, x: str, rank: int, channels: int, m: float) -> tuple[str, float]:
        """Activation on ``x`` (typical magnitude ``m``): returns the output and its magnitude."""
        if a.kind == "none":
            return x, m
        if a.kind == "sign":
            return self.node("Sign", [x], "sign"), 1.0
        if a.kind == "bipolar":
            if a.per_channel:
                scale = self.positive(self.rng.uniform(0.25, 2.0, self.channel_shape(rank, channels)))
            else:
                scale = self.positive(self.rng.uniform(0.25, 2.0)) if self.rng.random() < 0.6 else np.float32(1.0)
            return self.node("BipolarQuant", [x, self.const(scale, "ascale")], "bq"), float(np.mean(scale))
        signed = a.kind == "quant"
        if signed:
            top = 1 if a.bits == 1 else 2 ** (a.bits - 1) - 1
            span = 2.5 * m
        else:
            top = 2**a.bits - (2 if a.narrow else 1)
            span = 2.0 * m
            x = self.node("Relu", [x], "relu")
        shape = self.channel_shape(rank, channels) if a.per_channel else []
        target = np.full(shape, span / top) * (self.rng.uniform(0.5, 2.0, size=shape) if a.per_channel else 1.0)
        scale = self.positive(target).reshape(shape)
        out = self.node(
            "Quant",
            [x, self.const(scale, "ascale"), self.const(float(a.zero_point), "zp"), self.const(float(a.bits), "bw")],
            "aq",
            signed=int(signed),
            narrow=int(a.narrow),
            rounding_mode=a.rounding,
        )
        return out, float(np.mean(scale)) * top / 2

    def offset_before(self, a: ActSpec, x: str, rank: int, channels: int, m: float) -> str:
        """Non-dyadic graphs: a random per-channel ``Add`` before an activation that is discontinuous at 0.

        With random scales, a pre-activation that is exactly 0 in real arithmetic (cancelling integer
        terms) is computed as +-1 ulp or 0 depending on the summation order, which legitimately flips
        Sign/BipolarQuant/FLOOR/CEIL; a random offset moves such real-arithmetic ties off the decision
        boundary. Dyadic graphs compute exactly, so they keep their ties.
        """
        zero_sensitive = a.kind in ("sign", "bipolar") or (
            a.kind in ("quant", "relu_quant") and (a.rounding in ("FLOOR", "CEIL") or (a.kind, a.bits) == ("quant", 1))
        )
        if self.dyadic or not zero_sensitive:
            return x
        shape = [channels] if rank == 2 else [channels, 1, 1]
        return self.node("Add", [x, self.const(self.offset(shape, 0.3 * m), "tiebreak")], "tiebreak")

    def bn(self, x: str, channels: int, m: float) -> tuple[str, float]:
        mean = self.offset(channels, 0.3 * m)
        if self.dyadic:
            var = (4.0 ** np.round(np.log(m**2 * self.rng.uniform(0.5, 2.0, channels)) / np.log(4.0))).astype(
                np.float32
            )
            gamma = self.pow2(self.rng.uniform(0.5, 2.0, channels) * self.rng.choice([-1.0, 1.0, 1.0], channels))
            beta = self.offset(channels, 0.3)
            eps = 0.0
        else:
            var = (m * self.rng.uniform(0.5, 1.5, channels)).astype(np.float32) ** 2
            gamma = (self.rng.uniform(0.3, 1.5, channels) * self.rng.choice([-1.0, 1.0, 1.0], channels)).astype(
                np.float32
            )
            beta = self.rng.normal(0.0, 0.3, channels).astype(np.float32)
            eps = 1e-5
        names = [self.const(v, n) for v, n in ((gamma, "gamma"), (beta, "beta"), (mean, "mean"), (var, "var"))]
        return self.node("BatchNormalization", [x, *names], "bn", epsilon=eps), 1.0

    def affine(self, kind: str, x: str, rank: int, channels: int, m: float) -> tuple[str, float]:
        if kind == "none":
            return x, m
        cshape = [channels] if rank == 2 else [channels, 1, 1]
        if kind.startswith("mul"):
            per = "_c" in kind
            size = cshape if per else []
            factor = self.rng.uniform(0.5, 2.0, size=size)
            if kind.endswith("neg"):
                factor = factor * (self.rng.choice([-1.0, 1.0], size=size) if per else -1.0)
            factor = self.pow2(factor) if self.dyadic else np.asarray(factor, np.float32)
            x = self.node("Mul", [x, self.const(factor, "mul")], "mul")
            m = m * float(np.mean(np.abs(factor)))
            if kind == "mul_add_c":
                x = self.node("Add", [x, self.const(self.offset(cshape, 0.3 * m), "add")], "add")
            return x, m
        if kind in ("add", "add_c"):
            return self.node("Add", [x, self.const(self.offset(cshape if kind == "add_c" else (), 0.3 * m), "add")]), m
        if kind == "sub":
            return self.node("Sub", [x, self.const(self.offset(cshape, 0.3 * m), "sub")]), m
        if kind == "div":
            d = self.rng.uniform(0.5, 2.0, size=cshape)
            d = self.pow2(d) if self.dyadic else d.astype(np.float32)
            return self.node("Div", [x, self.const(d, "div")]), m / float(np.mean(d))
        raise ValueError(kind)

    # --- layers
    def dense(self, d: DenseSpec, x: str, in_features: int, m: float) -> tuple[str, float]:
        if d.op == "gemm":
            w = self.weight(d.weight, (d.features, in_features), 0)
            inputs = [x, w]
            if d.bias:
                inputs.append(self.const(self.offset(d.features, 0.3 * m * np.sqrt(in_features)), "bias"))
            y = self.node("Gemm", inputs, "gemm", transB=1)
        else:
            w = self.weight(d.weight, (in_features, d.features), 1)
            y = self.node("MatMul", [x, w], "matmul")
            if d.bias:
                y = self.node("Add", [y, self.const(self.offset(d.features, 0.3 * m * np.sqrt(in_features)), "bias")])
        m = m * np.sqrt(in_features)
        if d.bn:
            y, m = self.bn(y, d.features, m)
        y, m = self.affine(d.affine, y, 2, d.features, m)
        y = self.offset_before(d.act, y, 2, d.features, m)
        return self.act(d.act, y, 2, d.features, m)

    def conv(self, c: ConvSpec, x: str, shape: list[int], m: float) -> tuple[str, list[int], float]:
        n, ch, h, w = shape
        out_ch = ch if c.depthwise else c.channels
        group = ch if c.depthwise else 1
        pad = c.pad if h + 2 * c.pad >= c.kernel and w + 2 * c.pad >= c.kernel else 1
        wq = self.weight(c.weight, (out_ch, ch // group, c.kernel, c.kernel), 0)
        inputs = [x, wq]
        fan_in = ch // group * c.kernel * c.kernel
        if c.bias:
            inputs.append(self.const(self.offset(out_ch, 0.3 * m * np.sqrt(fan_in)), "bias"))
        y = self.node(
            "Conv",
            inputs,
            "conv",
            kernel_shape=[c.kernel, c.kernel],
            strides=[c.stride, c.stride],
            pads=[pad] * 4,
            group=group,
        )
        out = [n, out_ch, (h + 2 * pad - c.kernel) // c.stride + 1, (w + 2 * pad - c.kernel) // c.stride + 1]
        m = m * np.sqrt(fan_in)
        if c.bn:
            y, m = self.bn(y, out_ch, m)
        y, m = self.affine(c.affine, y, 4, out_ch, m)
        y = self.offset_before(c.act, y, 4, out_ch, m)
        y, m = self.act(c.act, y, 4, out_ch, m)
        return y, out, m

    def residual(self, r: ResidualSpec, x: str, shape: list[int], m: float) -> tuple[str, float]:
        ch = shape[1]
        pad = r.kernel // 2
        top = 2 ** (r.bits - 1) - 1
        shared = self.positive(2.5 * max(m, 0.5) / top)

        def quant(t: str, scale: np.ndarray | float, signed: bool) -> str:
            args = [t, self.const(scale, "ascale"), self.const(0.0, "zp"), self.const(float(r.bits), "bw")]
            return self.node("Quant", args, "aq", signed=int(signed), narrow=0, rounding_mode="ROUND")

        shortcut = quant(x, shared, True)
        y, mm = x, m
        for i in range(2):
            wq = self.weight(r.weight, (ch, ch, r.kernel, r.kernel), 0)
            y = self.node("Conv", [y, wq], "conv", kernel_shape=[r.kernel] * 2, pads=[pad] * 4)
            mm = mm * np.sqrt(ch * r.kernel * r.kernel)
            if r.bn:
                y, mm = self.bn(y, ch, mm)
            if i == 0:
                scale = self.positive(2.0 * mm / (2**r.bits - 1))
                y = quant(self.node("Relu", [y], "relu"), scale, False)
                mm = float(scale) * (2**r.bits - 1) / 2
        y = quant(y, shared, True)
        y = self.node("Add", [shortcut, y], "resadd")
        out_scale = self.positive(2.0 * float(shared) * top / (2**r.bits - 1))
        y = quant(self.node("Relu", [y], "relu"), out_scale, False)
        return y, float(out_scale) * (2**r.bits - 1) / 2


def build_case(spec: GraphSpec, n_feeds: int = 3) -> Case:
    """Build the QONNX model of ``spec`` and ``n_feeds`` input dicts (random and rounding-tie values)."""
    b = _Builder(spec)
    in_shape = [spec.batch, *spec.input_shape]
    x = "global_in"
    m = 1.0
    in_scale: float | None = None
    if spec.input_quant != "none":
        if spec.input_quant == "u8_255" and not spec.dyadic:
            in_scale = float(np.float32(1.0) / np.float32(255.0))
        elif spec.input_quant == "u8_255":
            in_scale = 2.0**-8
        else:
            in_scale = float(b.positive(b.rng.uniform(0.002, 0.02)))
        args = [x, b.const(in_scale, "inscale"), b.const(0.0, "zp"), b.const(8.0, "bw")]
        x = b.node("Quant", args, "inq", signed=0, narrow=0, rounding_mode="ROUND")
        m = in_scale * 128
    shape = list(in_shape)
    for layer in spec.layers:
        if isinstance(layer, DenseSpec):
            if len(shape) != 2:
                x, shape = _flatten(b, spec, x, shape)
            x, m = b.dense(layer, x, shape[1], m)
            shape = [shape[0], layer.features]
        elif isinstance(layer, ConvSpec):
            x, shape, m = b.conv(layer, x, shape, m)
        elif isinstance(layer, PoolSpec):
            if shape[2] >= 2 and shape[3] >= 2:
                x = b.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
                shape = [shape[0], shape[1], shape[2] // 2, shape[3] // 2]
        else:
            x, m = b.residual(layer, x, shape, m)
    if len(shape) != 2:
        x, shape = _flatten(b, spec, x, shape)
    head = DenseSpec(
        features=spec.classes,
        weight=spec.head_weight,
        op=spec.head_op,
        # top-k of integer-valued logits: exact ties (broken by float rounding) unless a random bias separates them
        bias=spec.head_bias or (spec.head == "topk" and not spec.dyadic),
        act=ActSpec(kind="none"),
    )
    x, m = b.dense(head, x, shape[1], m)
    head_magnitude = float(m)  # estimated size of the logits, i.e. of the terms they sum
    if spec.head == "quant":
        x, _ = b.act(ActSpec(kind="quant", bits=int(b.rng.integers(2, 9))), x, 2, spec.classes, m)
    outputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [spec.batch, spec.classes])]
    if spec.head == "topk":
        values, indices = b.fresh("topk_values"), b.fresh("topk_indices")
        b.nodes.append(
            helper.make_node(
                "TopK", [x, b.const(np.array([1]), "k", np.int64)], [values, indices], name="TopK", axis=-1
            )
        )
        outputs = [helper.make_tensor_value_info(indices, TensorProto.INT64, [spec.batch, 1])]
    graph = helper.make_graph(
        b.nodes,
        f"{spec.kind}_{spec.seed}",
        [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, in_shape)],
        outputs,
        [numpy_helper.from_array(v, k) for k, v in b.inits.items()],
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, 1)]
    )
    proto.ir_version = 8
    feeds = [{"global_in": v} for v in _inputs(b.rng, in_shape, in_scale, spec.dyadic, n_feeds)]
    return Case(spec, ModelWrapper(proto), feeds, head_magnitude)


def _flatten(b: _Builder, spec: GraphSpec, x: str, shape: list[int]) -> tuple[str, list[int]]:
    flat = [shape[0], int(np.prod(shape[1:]))]
    if spec.flatten == "reshape":
        target = [shape[0], -1] if b.rng.random() < 0.5 else [-1, flat[1]]
        return b.node("Reshape", [x, b.const(np.array(target), "shape", np.int64)], "reshape"), flat
    return b.node("Flatten", [x], "flatten", axis=1), flat


def _inputs(
    rng: np.random.Generator, shape: list[int], scale: float | None, dyadic: bool, count: int
) -> list[np.ndarray]:
    """Input arrays: random values, quantizer rounding ties ``(k + 1/2) * scale``, grid points, extremes."""
    out = []
    for i in range(count):
        if scale is not None:
            s = np.float32(scale)
            k = rng.integers(-3, 259, size=shape).astype(np.float32)
            ties = (k + np.float32(0.5)) * s  # rounding ties of the input quantizer (float32 products)
            grid = k * s
            rand = rng.uniform(-0.1, 1.1, size=shape).astype(np.float32) * np.float32(255) * s
            pick = rng.integers(0, 3 if i else 2, size=shape)
            x = np.where(pick == 0, ties, np.where(pick == 1, grid, rand))
            if i == count - 1:  # extremes: zeros (both signs), huge values, exact clamp bounds
                special = np.array([0.0, -0.0, 1e6, -1e6, 255 * s, 255.5 * s, -0.5 * s, 0.5 * s], np.float32)
                mask = rng.random(shape) < 0.3
                x = np.where(mask, rng.choice(special, size=shape), x)
        elif dyadic:
            x = np.round(rng.normal(0.0, 1.5, size=shape) * 16) / 16  # coarse grid: float32 products stay exact
        else:
            x = rng.normal(0.0, 1.0, size=shape) * (1.0 if i % 2 == 0 else 3.0)
            if i == 1:
                x = np.where(rng.random(shape) < 0.3, np.round(x * 4) / 8, x)  # multiples of 1/8
        out.append(np.asarray(x, dtype=np.float32))
    return out


def describe(case: Case) -> str:
    """Op list of a built case (for failure messages)."""
    return " -> ".join(n.op_type for n in case.model.graph.node)

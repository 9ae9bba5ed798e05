"""Base class of qnncc's custom ops and the context used to lower them.

A custom op has four duties, each a small method:

* ``execute`` — numpy semantics (the reference path);
* ``lower`` — the same semantics as standard ONNX nodes (the onnxruntime
  fast path); both must agree bit for bit on integer-valued tensors;
* ``shape_compatible_node`` — a standard node with the same output shape,
  used by shape inference;
* ``infer_datatype`` — the datatype annotation of the outputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from qnncc.core.errors import UnsupportedOpError

if TYPE_CHECKING:
    from qnncc.core.datatype import DataType
    from qnncc.core.model_wrapper import ModelWrapper

#: Node domains that hold FINN/QONNX/qnncc custom ops in real files.
CUSTOM_DOMAINS = frozenset(
    {
        "finn",
        "finn.custom_op.general",
        "qonnx.custom_op.general",
        "onnx.brevitas",
        "qnncc",
        "qnncc.custom_op.general",
        "qnncc.hw",
    }
)
_CUSTOM_PREFIXES = ("finn.custom_op.", "qonnx.custom_op.", "qnncc.custom_op.", "qnncc.hw.")


def float_type(*arrays: Any) -> type[np.floating[Any]]:
    """Float type a custom op computes and returns in: float64 if any input is float64, else float32.

    The executors run a model in float64 when its datatypes allow values or
    accumulators beyond float32's exact integers (``2**24``, see
    :mod:`qnncc.execution.precision`); ops then keep float64 throughout.
    """
    return np.float64 if any(np.asarray(a).dtype == np.float64 for a in arrays) else np.float32


def is_custom_domain(domain: str) -> bool:
    """Whether ``domain`` is one of the FINN/QONNX/qnncc custom-op domains."""
    return domain in CUSTOM_DOMAINS or domain.startswith(_CUSTOM_PREFIXES)


@dataclass(frozen=True)
class AttrSpec:
    """Declared attribute of a custom op.

    Attributes:
        kind: ``"i"`` int, ``"f"`` float, ``"s"`` string, ``"ints"``, ``"floats"``.
        required: whether a node must carry it.
        default: value when absent.
        allowed: optional set of permitted values.
    """

    kind: str
    required: bool = False
    default: Any = None
    allowed: frozenset[Any] | None = None


class CustomOp(ABC):
    """One custom-op node with typed attribute access.

    Args:
        node: the ONNX node.

    Raises:
        UnsupportedOpError: if a required attribute is missing or a value is
            not allowed (the message names the node).
    """

    op_type: ClassVar[str]
    attributes: ClassVar[dict[str, AttrSpec]] = {}
    #: Allowed numbers of inputs and of outputs (None: not checked).
    num_inputs: ClassVar[tuple[int, ...] | None] = None
    num_outputs: ClassVar[tuple[int, ...] | None] = None

    def __init__(self, node: onnx.NodeProto) -> None:
        self.node = node
        for what, count, allowed in (
            ("inputs", len(node.input), self.num_inputs),
            ("outputs", len(node.output), self.num_outputs),
        ):
            if allowed is not None and count not in allowed:
                want = " or ".join(str(n) for n in allowed)
                raise UnsupportedOpError(f"{self.describe()}: expects {want} {what}, got {count}")
        raw = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self.attrs: dict[str, Any] = {}
        for name, spec in self.attributes.items():
            if name in raw:
                value = raw[name]
                if isinstance(value, bytes):
                    try:
                        value = value.decode("utf-8")
                    except UnicodeDecodeError:
                        raise UnsupportedOpError(f"{self.describe()}: attribute {name!r} is not UTF-8 text") from None
            elif spec.required:
                raise UnsupportedOpError(f"{self.describe()}: required attribute {name!r} is missing")
            else:
                value = spec.default
            if spec.allowed is not None and value not in spec.allowed:
                raise UnsupportedOpError(f"{self.describe()}: attribute {name}={value!r} not in {sorted(spec.allowed)}")
            self.attrs[name] = value

    def describe(self) -> str:
        """``"<op_type> node '<name>'"`` for error messages."""
        return f"{self.node.op_type} node {self.node.name or '<unnamed>'!r}"

    @abstractmethod
    def execute(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Numpy semantics: compute the outputs from the input arrays."""

    @abstractmethod
    def lower(self, ctx: LoweringContext) -> None:
        """Emit standard ONNX nodes into ``ctx`` that compute the node's outputs."""

    @abstractmethod
    def shape_compatible_node(self) -> onnx.NodeProto:
        """A standard ONNX node producing outputs of the same shapes."""

    @abstractmethod
    def infer_datatype(self, model: ModelWrapper) -> list[DataType]:
        """Datatypes of the node's outputs given the annotated inputs."""


@dataclass
class LoweringContext:
    """Collects the standard ONNX nodes and constants a lowered op emits.

    Builders choose the op form valid for ``opset`` (the model's default-domain
    opset), so lowered graphs keep the model's opset.

    Attributes:
        opset: default-domain opset of the model being lowered.
        prefix: unique prefix for generated tensor names.
        constants: map of tensor name to constant value, for input lookup.
        ranks: map of tensor name to tensor rank where known.
        float_dtype: dtype of float constants (float64 when the model runs in
            float64, see :mod:`qnncc.execution.precision`).
    """

    opset: int
    prefix: str
    constants: dict[str, np.ndarray]
    ranks: dict[str, int]
    float_dtype: Any = np.float32
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    _count: int = 0

    def fresh(self, hint: str) -> str:
        """A new unique tensor name."""
        self._count += 1
        return f"{self.prefix}_{hint}_{self._count}"

    def const(self, value: Any, dtype: Any = None, hint: str = "c") -> str:
        """Add a constant initializer (float constants of ``float_dtype`` by default) and return its name."""
        name = self.fresh(hint)
        dtype = self.float_dtype if dtype is None else dtype
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], output: str | None = None, **attrs: Any) -> str:
        """Add one node and return the name of its (first) output."""
        out = output or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=self.fresh(op_type), **attrs))
        return out

    def require_const(self, op: CustomOp, index: int, what: str) -> np.ndarray:
        """Value of the node's input ``index``, which must be a constant."""
        name = op.node.input[index] if index < len(op.node.input) else ""
        if name not in self.constants:
            raise UnsupportedOpError(f"{op.describe()}: input {what} ({name!r}) must be a constant for lowering")
        return self.constants[name]

    def greater_equal(self, a: str, b: str) -> str:
        """Boolean ``a >= b`` (GreaterOrEqual from opset 12, Not(Less) before).

        Before opset 12 a NaN in ``a`` is masked with IsNaN (opset 9+) so it
        compares False, as in numpy; ``b`` is a constant without NaNs.
        """
        if self.opset >= 12:
            return self.op("GreaterOrEqual", [a, b])
        less = self.op("Less", [a, b])
        if self.opset >= 9:
            less = self.op("Or", [less, self.op("IsNaN", [a])])
        return self.op("Not", [less])

    def reduce_sum(self, x: str, axis: int, output: str | None = None) -> str:
        """Sum over one axis without keeping it (axes as input from opset 13)."""
        if self.opset >= 13:
            return self.op("ReduceSum", [x, self.const([axis], np.int64, "axes")], output, keepdims=0)
        return self.op("ReduceSum", [x], output, axes=[axis], keepdims=0)

    def cast_float(self, x: str) -> str:
        """Cast to float32."""
        return self.op("Cast", [x], to=TensorProto.FLOAT)

    def round_mode(self, x: str, mode: str, op: CustomOp) -> str:
        """Round ``x`` with a QONNX rounding mode (ROUND is half-to-even, as numpy).

        Raises:
            UnsupportedOpError: for an unknown mode, or Round below opset 11.
        """
        mode = mode.upper()
        if mode in ("ROUND", "HALF_EVEN"):
            if self.opset < 11:
                raise UnsupportedOpError(f"{op.describe()}: ROUND needs opset >= 11 for the fast path")
            return self.op("Round", [x])
        if mode == "CEIL":
            return self.op("Ceil", [x])
        if mode == "FLOOR":
            return self.op("Floor", [x])
        sign = self.op("Sign", [x])
        mag = self.op("Abs", [x])
        if mode in ("DOWN", "ROUND_TO_ZERO"):
            mag = self.op("Floor", [mag])
        elif mode == "UP":
            mag = self.op("Ceil", [mag])
        elif mode == "HALF_UP":
            mag = self.op("Floor", [self.op("Add", [mag, self.const(0.5)])])
        elif mode == "HALF_DOWN":
            mag = self.op("Ceil", [self.op("Sub", [mag, self.const(0.5)])])
        else:
            raise UnsupportedOpError(f"{op.describe()}: unknown rounding_mode {mode!r}")
        return self.op("Mul", [sign, mag])

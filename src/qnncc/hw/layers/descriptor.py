"""The descriptor of a HW layer: every facet of one layer type, named in one place.

Each layer module of :mod:`qnncc.hw.layers` ends with its ``DESCRIPTOR`` (op class, estimate, cycle
pattern, latency, and ``"module:attribute"`` references to the facets on the floors above:
conversion passes, HLS and RTL builders); :mod:`qnncc.hw.registry` collects them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from qnncc.core.errors import UnsupportedOpError

if TYPE_CHECKING:
    from qnncc.hw.layers.base import HWLayer
    from qnncc.hw.perf.estimate import Attrs, LayerEstimate, SparsityHint
    from qnncc.hw.perf.fitted.terms import CostTerms
    from qnncc.hw.sim.patterns import Program

__all__ = [
    "CODEGEN_HLS",
    "CODEGEN_RTL",
    "FINN_IMPORT",
    "TRANSFORMS_HW",
    "Estimator",
    "LayerDescriptor",
    "ProgramBuilder",
    "resolve",
]

#: Packages of the facets on the floors above ``hw``, for the descriptors' references.
TRANSFORMS_HW = "qnncc.transforms.hw"
#: The FINN-ONNX import that adopts FINN's HW nodes as qnncc's layers (``imported_by``).
FINN_IMPORT = "qnncc.custom_op.finn_names:adopt_finn_layers"
CODEGEN_HLS = "qnncc.codegen.hls.layers"
CODEGEN_RTL = "qnncc.codegen.rtl.layers"

#: A layer's cost model: ``(attributes, backend, sparsity hint, FPGA part) -> LayerEstimate``.
Estimator: TypeAlias = "Callable[[Attrs, str, SparsityHint | None, str | None], LayerEstimate]"
#: A layer's cycle pattern: ``(layer, pipeline latency in cycles) -> Program`` (one frame).
ProgramBuilder: TypeAlias = "Callable[[HWLayer, int], Program]"


def resolve(reference: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names.

    Raises:
        UnsupportedOpError: if the module or the attribute does not exist.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise UnsupportedOpError(f"HW layer registry: cannot resolve {reference!r}: {err}") from None


@dataclass(frozen=True)
class LayerDescriptor:
    """Every facet of one HW layer type.

    Attributes:
        op: the op class (``op.op_type`` is the ONNX op type, FINN's name).
        estimate: cycles and resources (a FINN analytic formula; the function names its source);
            backend ``EMITTED`` (``"qnncc"``) asks for the hardware qnncc emits instead.
        program: one frame's read/write pattern for the cycle-level simulator, or None where
            the simulator models the layer otherwise (``no_program`` says how).
        latency: assumed pipeline depth in cycles (issue to write) of the layer's loop.
        infer: the passes that create the layer from a streamlined graph, in the order the flow
            runs them (``"module:Class"``); empty when ``inserted_by`` creates it.
        inserted_by: the pass that inserts the layer between others (``"module:Class"``).
        hls: the HLS code builder (``"module:function"``, :mod:`qnncc.codegen.hls.layers`).
        header: the header of qnncc's C++ library (``hls_templates/include/qnncc/``) it uses.
        aliases: older FINN op types the estimate accepts for it (e.g. ``StreamingFCLayer``).
        default_backend: FINN's backend when a node names none (``hls`` or ``rtl``).
        sparse: whether the sparse (zero-skipping) cycle model applies.
        no_program: why ``program`` is None.
        rtl: the RTL (Verilog) builder (``"module:function"``, :mod:`qnncc.codegen.rtl`).
        rtl_core: the Verilog core of qnncc's RTL library (``hls_templates/rtl/``) it instantiates.
        no_rtl: why ``rtl`` is empty (a layer the RTL backend does not implement yet).
        imported_by: for a layer no qnncc pass creates, the FINN-ONNX import that adopts it
            (``"module:function"``; finn-plus's generic ops arrive in FINN's models only).
        fit_features: the natural cost terms of its RTL core, ``attributes -> {term: value}``:
            the regressors of its LUT/FF model fitted on Yosys (:mod:`qnncc.hw.perf.fitted`);
            None for a layer without measurements (FINN's formula stays).
        fit_variants: names of separately fitted sub-models sharing ``fit_features`` (MVAU:
            ``xnor``/``int``); empty for one model.
        fit_variant: picks the sub-model of a layer's attributes (with ``fit_variants``).
        no_fit: why a layer with an RTL core has no ``fit_features``.
    """

    op: type[HWLayer]
    estimate: Estimator
    program: ProgramBuilder | None
    latency: int
    infer: tuple[str, ...]
    hls: str
    header: str
    inserted_by: str = ""
    aliases: tuple[str, ...] = ()
    default_backend: str = "hls"
    sparse: bool = False
    no_program: str = ""
    rtl: str = ""
    rtl_core: str = ""
    no_rtl: str = ""
    imported_by: str = ""
    fit_features: CostTerms | None = None
    fit_variants: tuple[str, ...] = ()
    fit_variant: Callable[[Mapping[str, Any]], str] | None = None
    no_fit: str = ""

    @property
    def op_type(self) -> str:
        """The ONNX op type (FINN's name)."""
        return self.op.op_type

    def fit_keys(self) -> tuple[str, ...]:
        """The fitted resource model's keys of this layer (``MVAU/xnor``, ``MVAU/int``; else the op type)."""
        if self.fit_features is None:
            return ()
        return tuple(f"{self.op_type}/{v}" for v in self.fit_variants) or (self.op_type,)

    def fit_key(self, attrs: Mapping[str, Any]) -> str:
        """The fitted model key of a layer with these attributes."""
        return f"{self.op_type}/{self.fit_variant(attrs)}" if self.fit_variant is not None else self.op_type

    def infer_passes(self) -> list[type[Any]]:
        """The conversion pass classes (``transforms`` floor), resolved on first use."""
        return [resolve(ref) for ref in self.infer]

    def rtl_builder(self) -> Callable[..., Any]:
        """The RTL builder (``codegen`` floor), resolved on first use.

        Raises:
            UnsupportedOpError: if the layer has no RTL implementation.
        """
        if not self.rtl:
            raise UnsupportedOpError(f"{self.op_type}: no RTL implementation ({self.no_rtl})")
        builder = resolve(self.rtl)
        if not callable(builder):
            raise UnsupportedOpError(f"HW layer registry: {self.rtl!r} is not callable")
        return builder

    def hls_builder(self) -> Callable[..., Any]:
        """The HLS code builder (``codegen`` floor), resolved on first use."""
        builder = resolve(self.hls)
        if not callable(builder):
            raise UnsupportedOpError(f"HW layer registry: {self.hls!r} is not callable")
        return builder

"""FINN's op type names of the HW layers qnncc implements, and their mapping to qnncc's layers.

FINN (and finn-plus) write a generic HW node (``MVAU`` in domain
``finn.custom_op.fpgadataflow``) and, after ``SpecializeLayers``, a
specialized one with the implementation style in its name and domain
(``MVAU_hls`` in ``finn.custom_op.fpgadataflow.hls``, ``MVAU_rtl`` in
``.rtl``); older FINN versions used other generic names
(``MatrixVectorActivation``, ``StreamingFCLayer_Batch``, ...). Every name
maps to the one qnncc layer with FINN's semantics and attribute names; the
implementation style is kept in the attribute :data:`IMPL_STYLE_ATTR` (FINN's
own name for it on generic nodes), see :func:`finn_layer_name`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import onnx
from onnx import helper

from qnncc.core.errors import ModelLoadError
from qnncc.custom_op import HW_OP_LIBRARY

#: Attribute recording FINN's implementation style (``"hls"`` or ``"rtl"``) of a specialized node.
IMPL_STYLE_ATTR = "preferred_impl_style"

#: mem_mode values of older FINN versions -> today's names.
LEGACY_MEM_MODES: Mapping[str, str] = MappingProxyType(
    {"const": "internal_embedded", "decoupled": "internal_decoupled"}
)


def finn_name_table(layers: Iterable[type[Any]]) -> Mapping[str, tuple[str, str]]:
    """FINN op type -> ``(qnncc layer op type, implementation style or "")`` of HW layer classes.

    Each class names its older generic FINN op types (``finn_legacy_names``) and FINN's specialized
    backends (``finn_impl_styles``: ``MVAU`` -> ``MVAU_hls``, ``MVAU_rtl``); a class with FINN
    backends maps its own (generic) name too.
    """
    table: dict[str, tuple[str, str]] = {}
    for cls in layers:
        if getattr(cls, "finn_impl_styles", ()):  # a FINN layer: its generic name too
            table[cls.op_type] = (cls.op_type, "")
        for name in getattr(cls, "finn_legacy_names", ()):
            table[name] = (cls.op_type, "")
        for style in getattr(cls, "finn_impl_styles", ()):
            table[f"{cls.op_type}_{style}"] = (cls.op_type, style)
    return MappingProxyType(table)


def finn_layer_name(op_type: str) -> tuple[str, str] | None:
    """``(qnncc op type, impl style)`` of a FINN HW op type (``"MVAU_rtl"`` -> ``("MVAU", "rtl")``), else None.

    The names come from the HW layer classes of the op library (:data:`qnncc.custom_op.HW_OP_LIBRARY`).
    """
    library = importlib.import_module(HW_OP_LIBRARY)
    names: Mapping[str, tuple[str, str]] = library.FINN_LAYER_NAMES
    return names.get(op_type)


def embed_partition_children(proto: onnx.ModelProto, base: Path, hw_domain: str) -> list[str]:
    """Replace FINN's child-model *paths* of ``StreamingDataflowPartition`` nodes by the child graphs.

    FINN's ``CreateDataflowPartition`` stores each child as a separate
    ``.onnx`` file named by the node's ``model`` string attribute (usually an
    absolute path); qnncc keeps the child graph in the attribute itself. Each
    child is loaded (a relative path from ``base``, then the file name in
    ``base``), its HW nodes adopted (:func:`adopt_finn_layers`) and its custom
    opset imports added to ``proto``.

    Returns:
        The paths embedded.

    Raises:
        ModelLoadError: naming the node and the path, if a child file is missing or unreadable.
    """
    embedded: list[str] = []
    for node in proto.graph.node:
        attr = next((a for a in node.attribute if a.name == "model"), None)
        if node.op_type != "StreamingDataflowPartition" or attr is None or attr.type != onnx.AttributeProto.STRING:
            continue
        text = attr.s.decode(errors="replace")
        candidates = [Path(text) if Path(text).is_absolute() else base / text, base / Path(text).name]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ModelLoadError(f"partition node {node.name or node.op_type!r}: child model {text!r} not found")
        try:
            child = onnx.load(str(found))
        except Exception as exc:
            raise ModelLoadError(f"partition node {node.name!r}: child model {found} is unreadable: {exc}") from None
        embed_partition_children(child, found.parent, hw_domain)
        adopt_finn_layers(child, hw_domain)
        node.attribute.remove(attr)
        node.attribute.append(helper.make_attribute("model", child.graph))
        known = {imp.domain for imp in proto.opset_import}
        proto.opset_import.extend(imp for imp in child.opset_import if imp.domain not in known)
        embedded.append(str(found))
    return embedded


def adopt_finn_layers(proto: onnx.ModelProto, hw_domain: str) -> list[str]:
    """Rename FINN's HW nodes to qnncc's layers in place, recording the implementation style.

    Every node whose op type is a FINN HW layer name (generic, specialized or
    older) in a ``finn.custom_op.fpgadataflow*`` domain gets qnncc's op type
    and ``hw_domain``; a specialized node keeps its style (``hls``/``rtl``) in
    :data:`IMPL_STYLE_ATTR`; older ``mem_mode`` values are renamed. The
    node's other FINN attributes are kept (qnncc reads FINN's names).

    Args:
        proto: the model; its main graph is edited.
        hw_domain: qnncc's HW layer domain.

    Returns:
        ``"old -> new"`` for every renamed node.
    """
    renamed: list[str] = []
    mark_finn_vvau_input_order(proto.graph)
    for node in proto.graph.node:
        if not node.domain.startswith("finn.custom_op.fpgadataflow"):
            continue
        found = finn_layer_name(node.op_type)
        if found is None:
            continue
        layer, style = found
        if style and not any(a.name == IMPL_STYLE_ATTR for a in node.attribute):
            node.attribute.append(helper.make_attribute(IMPL_STYLE_ATTR, style))
        for attr in node.attribute:
            if attr.name == "mem_mode" and attr.s.decode(errors="replace") in LEGACY_MEM_MODES:
                attr.s = LEGACY_MEM_MODES[attr.s.decode()].encode()
        if node.op_type != layer or node.domain != hw_domain:
            renamed.append(f"{node.domain}.{node.op_type} -> {hw_domain}.{layer}")
        node.op_type, node.domain = layer, hw_domain
        if layer.startswith("Elementwise"):
            _mark_constant_operands(node, {t.name for t in proto.graph.initializer})
    if renamed and not any(imp.domain == hw_domain for imp in proto.opset_import):
        proto.opset_import.add(domain=hw_domain, version=1)
    return renamed


def _mark_constant_operands(node: onnx.NodeProto, initializers: set[str]) -> None:
    """Set FINN's ``lhs_style``/``rhs_style`` of an elementwise node: ``"const"`` for an initializer operand.

    FINN sets them when it minimises the constant's bit width; a model saved before that, or
    written by hand, says ``"input"`` (the default) for a constant, which the hardware needs to know.
    """
    for side, tensor in zip(("lhs", "rhs"), node.input, strict=False):
        style = "const" if tensor in initializers else "input"
        for attr in list(node.attribute):
            if attr.name == f"{side}_style":
                node.attribute.remove(attr)
        node.attribute.append(helper.make_attribute(f"{side}_style", style))


#: qnncc's VVAU attribute recording the order of its input windows (see :func:`mark_finn_vvau_input_order`).
VVAU_ORDER_ATTR = "inputOrder"
#: Ops a stream passes through unchanged in element order on its way from a window generator.
_ORDER_KEEPING = frozenset({"StreamingDataWidthConverter", "StreamingFIFO"})


def _window_source(op_type: str) -> bool:
    """Whether ``op_type`` is a sliding window generator (FINN's, qnncc's) or ``Im2Col``."""
    found = finn_layer_name(op_type)
    return op_type in ("Im2Col", "ConvolutionInputGenerator") or (
        found is not None and found[0] == "ConvolutionInputGenerator"
    )


def _base_name(op_type: str) -> str:
    found = finn_layer_name(op_type)
    return found[0] if found is not None else op_type


def is_unmarked_finn_vvau(node: onnx.NodeProto) -> bool:
    """Whether ``node`` is a VVAU in a FINN domain without :data:`VVAU_ORDER_ATTR` (any FINN name of it)."""
    is_vvau = _base_name(node.op_type) == "VVAU"
    return (
        is_vvau
        and node.domain.startswith("finn.custom_op.fpgadataflow")
        and not any(a.name == VVAU_ORDER_ATTR for a in node.attribute)
    )


def mark_finn_vvau_input_order(graph: onnx.GraphProto) -> int:
    """Record how FINN's Python model reads each FINN VVAU's input, in place; returns the nodes marked.

    FINN's ``VVAU.execute_node`` reads its input in Im2Col order when a window generator
    (``ConvolutionInputGenerator``, ``Im2Col``) produces it, and otherwise interleaved by PE,
    ``[C/PE, kh*kw, PE]`` (the order FINN's hardware window generator writes). Every VVAU node
    in a ``finn.custom_op.fpgadataflow*`` domain without the attribute gets
    :data:`VVAU_ORDER_ATTR` = ``"im2col"`` or ``"pe_interleaved"`` from its producer (looked up
    through width converters and FIFOs; FINN looks at the direct producer only). Subgraphs
    (dataflow partitions) are marked too.
    """
    producers = {out: node for node in graph.node for out in node.output}
    marked = 0
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                marked += mark_finn_vvau_input_order(attr.g)
        if not (is_unmarked_finn_vvau(node) and node.input):
            continue
        producer = producers.get(node.input[0])
        while producer is not None and _base_name(producer.op_type) in _ORDER_KEEPING:
            producer = producers.get(producer.input[0]) if producer.input else None
        windows = producer is not None and _window_source(producer.op_type)
        node.attribute.append(helper.make_attribute(VVAU_ORDER_ATTR, "im2col" if windows else "pe_interleaved"))
        marked += 1
    return marked

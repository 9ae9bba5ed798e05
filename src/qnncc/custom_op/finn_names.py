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
    if renamed and not any(imp.domain == hw_domain for imp in proto.opset_import):
        proto.opset_import.add(domain=hw_domain, version=1)
    return renamed

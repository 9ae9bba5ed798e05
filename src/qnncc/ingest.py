"""Ingest: load an ONNX / QONNX / FINN-ONNX file into a checked ModelWrapper.

``load`` rejects bad input with one clear line (a :class:`QnnccError`), never
a traceback from deep inside protobuf or onnxruntime.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections import defaultdict
from pathlib import Path

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from onnx import external_data_helper, numpy_helper

from qnncc.core.errors import GraphError, ModelLoadError, UnsupportedOpError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.optional_inputs import drop_undefined_optional_inputs
from qnncc.custom_op import custom_ops, is_custom_domain, is_custom_node
from qnncc.custom_op.finn_names import adopt_finn_layers, embed_partition_children
from qnncc.custom_op.partition import HW_DOMAIN
from qnncc.custom_op.shapes import infer_shapes

log = logging.getLogger(__name__)


def load(path: str | Path, simplify: bool = True) -> ModelWrapper:
    """Load, validate and shape-annotate a model file.

    Steps: parse; reject text fields that are not UTF-8; check external-data
    paths stay inside the model's folder and load them; check every
    initializer decodes; declare missing custom-op domains; adopt FINN's HW
    nodes (``MVAU_hls``, ``Thresholding_rtl``, ... become qnncc's layers with
    ``preferred_impl_style`` recorded), embedding the child models FINN's
    dataflow partitions name by path; reject unsupported op
    types (all listed); treat optional inputs that nothing defines as absent
    (with a warning); reject cycles and sort the graph; pin a symbolic
    batch dimension to 1; run ``onnx.checker``; simplify with onnxsim when the
    graph has no custom ops (pure float/standard parts); infer shapes.

    Args:
        path: path to an ``.onnx`` file.
        simplify: run onnxsim on models without custom ops.

    Returns:
        The checked model with shapes annotated.

    Raises:
        ModelLoadError: unreadable, truncated or corrupt file; external
            data outside the model folder or missing.
        UnsupportedOpError: op types qnncc does not know (all of them, with
            node names).
        GraphError: a cycle, a dangling tensor, or a graph input without a
            static shape.
    """
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelLoadError(f"model path {path} is not a file")
    model = ModelWrapper(path)
    _reject_invalid_text(model.model)
    _load_external_data(model.model, path.parent)
    _check_initializers(model.model)
    embed_partition_children(model.model, path.parent, HW_DOMAIN)
    _declare_custom_domains(model.model)
    adopt_finn_layers(model.model, HW_DOMAIN)
    _reject_unsupported_ops(model.model)
    drop_undefined_optional_inputs(model.model)
    model.check()
    _sort_in_place(model)
    _pin_batch_dimension(model)
    if simplify and not any(is_custom_node(n) for n in model.graph.node):
        model = _simplify(model)
    infer_shapes(model)
    for name in model.graph_input_names():
        if model.get_tensor_shape(name) is None:
            raise GraphError(f"graph input {name!r} has no static shape; export the model with a fixed input shape")
    return model


def _load_external_data(proto: onnx.ModelProto, base: Path) -> None:
    base = base.resolve()
    external = [t for t in external_data_helper._get_all_tensors(proto) if external_data_helper.uses_external_data(t)]
    for tensor in external:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        target = (base / location).resolve()
        if not location or Path(location).is_absolute() or ".." in Path(location).parts or base not in target.parents:
            raise ModelLoadError(
                f"initializer {tensor.name!r} points to external data {location!r} outside the model's folder"
            )
        if not target.is_file():
            raise ModelLoadError(f"initializer {tensor.name!r}: external data file {location!r} is missing")
    if external:
        try:
            external_data_helper.load_external_data_for_model(proto, str(base))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load external data: {exc}") from None


def _reject_invalid_text(message: Message, where: str = "model") -> None:
    """Reject string fields that are not UTF-8 (protobuf then hands out bytes, which break later code)."""
    for field, value in message.ListFields():
        items = [value] if isinstance(value, (str, bytes, Message)) else value  # repeated fields are sequences
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in items:
                _reject_invalid_text(item, f"{where}.{field.name}")
        elif field.type == FieldDescriptor.TYPE_STRING and any(isinstance(v, bytes) for v in items):
            raise ModelLoadError(f"{where}.{field.name} is not valid UTF-8 text (corrupt file?)")


def _check_initializers(proto: onnx.ModelProto) -> None:
    """Every initializer must decode to an array of its declared shape."""
    for tensor in proto.graph.initializer:
        try:
            numpy_helper.to_array(tensor)
        except Exception as exc:  # unknown data type, wrong data size, ...
            raise ModelLoadError(
                f"initializer {tensor.name!r} is corrupt: {type(exc).__name__}: {str(exc).strip() or 'cannot decode'}"
            ) from None


def _declare_custom_domains(proto: onnx.ModelProto) -> None:
    """FINN files often use custom domains without an opset import; add version 1."""
    declared = {imp.domain for imp in proto.opset_import}
    for domain in sorted({n.domain for n in proto.graph.node if is_custom_domain(n.domain)} - declared):
        proto.opset_import.add(domain=domain, version=1)


def _reject_unsupported_ops(proto: onnx.ModelProto) -> None:
    bad: dict[str, list[str]] = defaultdict(list)
    for i, node in enumerate(proto.graph.node):
        name = node.name or f"#{i}"
        if is_custom_domain(node.domain):
            if node.op_type not in custom_ops():
                bad[f"{node.domain}.{node.op_type}"].append(name)
        elif node.domain not in ("", "ai.onnx") or not onnx.defs.has(node.op_type, node.domain):
            key = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
            bad[key].append(name)
    if bad:
        items = "; ".join(
            f"{op} (node{'s' if len(ns) > 1 else ''} {', '.join(repr(n) for n in ns)})" for op, ns in bad.items()
        )
        raise UnsupportedOpError(f"unsupported op types: {items}")


def _sort_in_place(model: ModelWrapper) -> None:
    order = model.topological_sort()
    if [id(n) for n in order] != [id(n) for n in model.graph.node]:
        copies = [onnx.NodeProto() for _ in order]
        for dst, src in zip(copies, order, strict=True):
            dst.CopyFrom(src)
        del model.graph.node[:]
        model.graph.node.extend(copies)


def _pin_batch_dimension(model: ModelWrapper) -> None:
    for name in model.graph_input_names():
        vi = next(v for v in model.graph.input if v.name == name)
        if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            raise GraphError(f"graph input {name!r} has no shape; export the model with a fixed input shape")
        dims = vi.type.tensor_type.shape.dim
        for k, dim in enumerate(dims):
            if dim.HasField("dim_value"):
                continue
            if k == 0:
                log.info("graph input %r: symbolic batch dimension %r set to 1", name, dim.dim_param)
                dim.Clear()
                dim.dim_value = 1
            else:
                raise GraphError(f"graph input {name!r} has a symbolic dimension {dim.dim_param!r} at axis {k}")


def _simplify(model: ModelWrapper) -> ModelWrapper:
    """Onnxsim on a standard-ONNX model, keeping datatype annotations of surviving tensors."""
    import onnxsim

    annotations = list(model.graph.quantization_annotation)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # onnxsim prints its check progress
            simplified, ok = onnxsim.simplify(model.model, check_n=1)
    except Exception as exc:  # onnxsim raises plain RuntimeErrors from C++
        log.warning("onnxsim skipped: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return model
    if not ok:
        log.warning("onnxsim result failed its check; keeping the original graph")
        return model
    result = ModelWrapper(simplified)
    alive = set(result.get_all_tensor_names()) | set(result.graph_output_names())
    del result.graph.quantization_annotation[:]
    for qa in annotations:
        if qa.tensor_name in alive:
            result.graph.quantization_annotation.append(qa)
    return result

"""Reading an ``onnx.ModelProto`` from a path or bytes, and its node attributes.

Bad input becomes one clear :class:`~qnncc.core.errors.ModelLoadError` line
(unreadable file, truncated or non-ONNX bytes, no graph). Node attributes are
read decoded (bytes become ``str``, as FINN's ``get_nodeattr``) and written in
place, also on nodes of subgraphs (a partition's child).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
from onnx import helper

from qnncc.core.errors import ModelLoadError

__all__ = ["get_node_attribute", "parse_model_bytes", "read_model_proto", "set_node_attribute"]


def read_model_proto(model: onnx.ModelProto | str | Path | bytes) -> onnx.ModelProto:
    """The ``ModelProto`` itself (not copied), or the one parsed from serialized bytes or a file path.

    Raises:
        ModelLoadError: if the file cannot be read, or the bytes are not an ONNX model with a graph.
    """
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes):
        return parse_model_bytes(model, "<bytes>")
    path = Path(model)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {path}: {exc.strerror}") from None
    return parse_model_bytes(data, str(path))


def parse_model_bytes(data: bytes, origin: str) -> onnx.ModelProto:
    """Parse serialized ONNX ``data`` read from ``origin`` (named in errors).

    Raises:
        ModelLoadError: if the bytes do not parse or hold no graph.
    """
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError or RuntimeError
        raise ModelLoadError(
            f"{origin} is not a valid ONNX file (truncated or corrupt): {type(exc).__name__}"
        ) from None
    if not model.HasField("graph") or (len(model.graph.node) == 0 and len(model.graph.output) == 0):
        raise ModelLoadError(f"{origin} holds no ONNX graph (empty, truncated or not an ONNX file)")
    return model


def get_node_attribute(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """Value of attribute ``name`` of ``node``, decoded (bytes become str), or ``default``."""
    for attr in node.attribute:
        if attr.name == name:
            return _decode(helper.get_attribute_value(attr))
    return default


def set_node_attribute(node: onnx.NodeProto, name: str, value: Any) -> None:
    """Create or replace attribute ``name`` of ``node`` (also for nodes inside subgraphs)."""
    new = helper.make_attribute(name, value)
    for attr in node.attribute:
        if attr.name == name:
            attr.CopyFrom(new)
            return
    node.attribute.append(new)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8") for v in value]
    return value

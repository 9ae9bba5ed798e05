"""Folding configuration: apply and export FINN-format folding files.

Format (FINN's ``folding_config.json``)::

    {"Defaults": {"ram_style": ["block", ["MVAU"]]},
     "MVAU_0": {"PE": 16, "SIMD": 49, "ram_style": "block"}, ...}

Keys may use FINN's specialised names (``MVAU_hls_0``, ``Thresholding_rtl_0``):
the ``_hls``/``_rtl`` infix is ignored when matching qnncc's layer names
(``MVAU_0``, ``Thresholding_0``). Keys that match no layer are reported.
An MVAU entry may give ``MH`` above the layer's: its outputs and the next
MVAU's inputs are padded with constant channels first (qnncc's channel
padding, :class:`.pad_channels.PadChannels`; written only where used).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import onnx
from typing_extensions import override

from qnncc.core.errors import QnnccError, TransformationError
from qnncc.core.model_proto import set_node_attribute
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.transformation import Transformation
from qnncc.custom_op import get_custom_op
from qnncc.hw.layers import HWLayer

from .partition import is_hw_node

log = logging.getLogger(__name__)

#: Attributes a folding file may set besides the folding factors.
STYLE_ATTRS = (
    "ram_style",
    "ram_style_thresholds",
    "mem_mode",
    "resType",
    "runtime_writeable_weights",
    "depth",
    "impl_style",
    "parallel_window",
    "MMV",
)
#: An MVAU entry's padded output channel count (qnncc's channel padding, :mod:`.pad_channels`).
PAD_KEY = "MH"
_SPECIALISED = re.compile(r"^(?P<op>.+?)_(?:hls|rtl)_(?P<index>\d+)$")


def iter_hw_nodes(model: ModelWrapper) -> Iterator[onnx.NodeProto]:
    """HW layer nodes of the model, including those inside dataflow partitions, in graph order."""
    for node in model.graph.node:
        if node.op_type == "StreamingDataflowPartition":
            for attr in node.attribute:
                if attr.name == "model":
                    yield from (n for n in attr.g.node if is_hw_node(n))
        elif is_hw_node(node):
            yield node


def canonical_layer_name(name: str) -> str:
    """FINN's specialised node name without the ``_hls``/``_rtl`` infix (``MVAU_hls_0`` -> ``MVAU_0``)."""
    m = _SPECIALISED.match(name)
    return f"{m.group('op')}_{m.group('index')}" if m else name


def load_folding_config(config: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A folding configuration from a JSON file path or a mapping.

    Raises:
        TransformationError: if the file cannot be read or is not a JSON object.
    """
    if isinstance(config, Mapping):
        return dict(config)
    try:
        data = json.loads(Path(config).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TransformationError(f"cannot read folding config {config}: {exc}") from None
    if not isinstance(data, dict):
        raise TransformationError(f"folding config {config} must hold a JSON object")
    return data


def _layer_of(layers: Mapping[str, onnx.NodeProto], key: str) -> onnx.NodeProto | None:
    """The layer a folding-config key names (qnncc's name or FINN's specialised one), if any."""
    return layers.get(key) or layers.get(canonical_layer_name(key))


class ApplyFoldingConfig(Transformation):
    """Set PE/SIMD and memory styles of HW layers from a FINN-format folding config.

    Args:
        config: path to a JSON file or the parsed mapping.

    Attributes:
        unmatched: config keys that name no layer (also logged as a warning).

    Raises:
        TransformationError: for an attribute the layer does not have, or an
            illegal value (the message names the layer and the legal values).
    """

    def __init__(self, config: str | Path | Mapping[str, Any]) -> None:
        self.config = load_folding_config(config)
        self.unmatched: list[str] = []

    @override
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        layers = {n.name: n for n in iter_hw_nodes(model)}
        self._pad(model, layers)
        defaults = self.config.get("Defaults", {}) or {}
        for node in layers.values():
            for attr, spec in defaults.items():
                value, op_types = spec if isinstance(spec, list) and len(spec) == 2 else (spec, ["all"])
                if "all" in op_types or node.op_type in op_types:
                    self._assign(node, attr, value, strict=False)
        self.unmatched = []
        for key, settings in self.config.items():
            if key == "Defaults":
                continue
            target = _layer_of(layers, key)
            if target is None:
                self.unmatched.append(key)
                continue
            # folding factors, then styles, then MMV: each may be legal only with the ones before
            # (parallel_window needs SIMD = C, MMV both); every assignment validates the node
            order = sorted(dict(settings).items(), key=lambda item: (item[0] in STYLE_ATTRS, item[0] == "MMV"))
            for attr, value in order:
                if attr == PAD_KEY and target.op_type == "MVAU":
                    continue  # padded by _pad
                self._assign(target, attr, value, strict=True)
            try:
                get_custom_op(target)  # validates the whole entry (e.g. SIMD with parallel_window)
            except Exception as exc:
                raise TransformationError(f"folding config: {exc}") from None
        if self.unmatched:
            log.warning("folding config entries match no layer: %s (layers: %s)", self.unmatched, sorted(layers))
        return model, False

    def _pad(self, model: ModelWrapper, layers: Mapping[str, onnx.NodeProto]) -> None:
        """Pad the outputs of the MVAUs whose entry gives a larger ``MH`` (:class:`.pad_channels.PadChannels`)."""
        from .pad_channels import PadChannels

        counts = {}
        for key, settings in self.config.items():
            node = _layer_of(layers, key)
            if node is not None and node.op_type == "MVAU" and PAD_KEY in settings:
                counts[node.output[0]] = int(settings[PAD_KEY])
        if counts:
            try:
                model.transform(PadChannels(counts))
            except QnnccError as exc:
                raise TransformationError(f"folding config: {exc}") from None

    @staticmethod
    def _assign(node: onnx.NodeProto, attr: str, value: Any, strict: bool) -> None:
        layer = get_custom_op(node)
        if attr not in layer.attributes:
            if strict:
                raise TransformationError(
                    f"folding config: layer {node.name!r} ({node.op_type}) has no attribute {attr!r}"
                )
            return
        set_node_attribute(node, attr, value)
        if strict:
            return  # the entry's attributes are validated together by the caller
        try:
            get_custom_op(node)
        except Exception as exc:
            raise TransformationError(f"folding config: {exc}") from None


def extract_folding_config(model: ModelWrapper) -> dict[str, Any]:
    """The current folding of every HW layer in FINN's format (``Defaults`` left empty)."""
    config: dict[str, Any] = {"Defaults": {}}
    for node in iter_hw_nodes(model):
        layer = get_custom_op(node)
        assert isinstance(layer, HWLayer)
        entry = {a: layer.attrs[a] for a in layer.folding_attrs}
        entry.update({a: layer.attrs[a] for a in STYLE_ATTRS if a in layer.attrs})
        if int(entry.get("MMV", 1)) == 1:
            entry.pop("MMV", None)  # qnncc's multi-vector option, written only where used
        if int(layer.attrs.get("padOutputs", 0)):
            entry[PAD_KEY] = layer.attrs[PAD_KEY]  # qnncc's channel padding (PadChannels), only where used
        config[node.name] = entry
    return config


def save_folding_config(model: ModelWrapper, path: str | Path) -> None:
    """Write :func:`extract_folding_config` as indented JSON to ``path``."""
    Path(path).write_text(json.dumps(extract_folding_config(model), indent=2) + "\n")

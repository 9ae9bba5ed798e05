"""The HW layer registry: one descriptor per HW layer type, every facet named in one place.

A HW layer has facets on several floors (docs/design.md, "Floors"):

* on this floor (``hw``): its op class (semantics, shapes, folding rules; :mod:`qnncc.hw.layers`),
  its cost model (:mod:`qnncc.hw.perf`), its cycle pattern and pipeline latency for the
  cycle-level simulator (:mod:`qnncc.hw.sim.patterns`);
* on the ``transforms`` floor: the passes that create it (``Infer*`` conversions, or the pass that
  inserts it, e.g. ``InsertDWC``);
* on the ``codegen`` floor: its HLS code builder and the header of qnncc's C++ library it uses,
  and its RTL builder and the Verilog core of qnncc's RTL library.

Each layer module of :mod:`qnncc.hw.layers` holds the layer's op class, estimate and cycle pattern
and ends with its :class:`~qnncc.hw.layers.descriptor.LayerDescriptor` (``DESCRIPTOR``); the
descriptor holds the facets of this floor as objects, and those of the floors above as
``"module:attribute"`` references resolved when first used (:meth:`LayerDescriptor.infer_passes`,
:meth:`LayerDescriptor.hls_builder`), so this floor imports nothing above it. This module only
names the layer modules, in the order the flow tries their conversion passes. Every table that
dispatches on a HW op type (estimates, simulation patterns and latencies, HLS builders, the
conversion passes of the flow) is derived from :data:`LAYERS`, and
``tests/hw/test_registry.py`` checks that every registered layer has every facet.

Adding a HW layer: ``hw/layers/<layer>.py`` (op class, estimate, cycle pattern, ``DESCRIPTOR``),
its ``Infer`` pass, ``codegen/hls/layers/<layer>.py`` and its C++ header, optionally
``codegen/rtl/layers/<layer>.py`` and its Verilog core, one line in :data:`LAYER_MODULES`, and its
tests (docs/design.md, "Adding a HW layer").
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from types import MappingProxyType

from qnncc.core.errors import UnsupportedOpError
from qnncc.hw.layers.descriptor import Estimator, LayerDescriptor, ProgramBuilder, resolve

__all__ = [
    "LAYERS",
    "LAYER_MODULES",
    "Estimator",
    "LayerDescriptor",
    "ProgramBuilder",
    "descriptor",
    "descriptors_by_op_type",
    "resolve",
]

#: The layer modules of :mod:`qnncc.hw.layers` with a ``DESCRIPTOR``, in the order the flow tries
#: their conversion passes: windows and pools before the matrix layers that read them, thresholds
#: after the MVAUs that may absorb them, the label select last; the inserted layers (padding, width
#: converters, FIFOs) at the end.
LAYER_MODULES: tuple[str, ...] = (
    "convolutioninputgenerator",
    "streamingmaxpool",
    "pool",
    "vectorvectoractivation",
    "globalaccpool",
    "mvau",
    "thresholding",
    "addstreams",
    "duplicatestreams",
    "channelwise_op",
    "labelselect",
    "fmpadding",
    "streamingdatawidthconverter",
    "streamingfifo",
)


def _layer_descriptor(module: str) -> LayerDescriptor:
    """The ``DESCRIPTOR`` of layer module ``qnncc.hw.layers.<module>``.

    Raises:
        UnsupportedOpError: if the module has none.
    """
    found = getattr(importlib.import_module(f"qnncc.hw.layers.{module}"), "DESCRIPTOR", None)
    if not isinstance(found, LayerDescriptor):
        raise UnsupportedOpError(f"HW layer registry: qnncc.hw.layers.{module} has no LayerDescriptor DESCRIPTOR")
    return found


#: One descriptor per HW layer, in :data:`LAYER_MODULES` order.
LAYERS: tuple[LayerDescriptor, ...] = tuple(_layer_descriptor(m) for m in LAYER_MODULES)


@functools.cache
def descriptors_by_op_type() -> Mapping[str, LayerDescriptor]:
    """Every descriptor by op type and by alias (read-only)."""
    table: dict[str, LayerDescriptor] = {}
    for desc in LAYERS:
        for name in (desc.op_type, *desc.aliases):
            table[name] = desc
    return MappingProxyType(table)


def descriptor(op_type: str) -> LayerDescriptor:
    """The descriptor of a HW op type (or a FINN alias of it).

    Raises:
        UnsupportedOpError: if no HW layer has that op type.
    """
    found = descriptors_by_op_type().get(op_type)
    if found is None:
        known = ", ".join(d.op_type for d in LAYERS)
        raise UnsupportedOpError(f"{op_type!r} is not a qnncc HW layer (have: {known})")
    return found

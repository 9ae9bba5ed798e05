"""A cheap fingerprint of a model, so repeated ``execute`` calls reuse a compiled executor.

Serializing the whole model on every call (the former cache key) costs a few
ms for an 11 MB model — more than running LFC on one image. The fingerprint
instead holds everything except the bytes of large initializers:

* every node (attributes and nested graphs included), graph input, output,
  value info and datatype/layout annotation, the opsets and the IR version;
* every initializer's name, element type and shape, and the full contents of
  initializers of at most :data:`SMALL_INITIALIZER_BYTES` (thresholds,
  scales, shapes);
* :attr:`ModelWrapper.generation`, which every wrapper edit of an initializer
  (``set_initializer``/``del_initializer``) and every pass run bumps.

So the only edit it does not see is overwriting a large initializer's bytes
directly on the protobuf with the same name, shape and type; call
:meth:`ModelWrapper.mark_changed` after such an edit.
"""

from __future__ import annotations

import math

import onnx
from onnx import helper

from qnncc.core.model_wrapper import ModelWrapper

#: Initializers up to this size (bytes, from shape and type) are compared by content.
SMALL_INITIALIZER_BYTES = 4096


def model_fingerprint(model: ModelWrapper) -> tuple[int, bytes]:
    """Fingerprint of ``model``: equal fingerprints mean the same function (see the module doc).

    Cost: proportional to the graph's structure (nodes, value infos,
    annotations, small constants), not to the size of its weights.
    """
    proto, graph = model.model, model.graph
    parts: list[bytes] = [str(proto.ir_version).encode()]
    parts.extend(imp.SerializeToString() for imp in proto.opset_import)
    for group in (graph.node, graph.input, graph.output, graph.value_info, graph.quantization_annotation):
        parts.append(b"\x01")
        parts.extend(item.SerializeToString() for item in group)
    parts.append(b"\x02")
    parts.extend(_initializer_key(init) for init in graph.initializer)
    return model.generation, b"\x00".join(parts)


def _initializer_key(init: onnx.TensorProto) -> bytes:
    try:
        itemsize = helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
    except (KeyError, ValueError, TypeError):
        itemsize = 8
    if math.prod(init.dims) * itemsize <= SMALL_INITIALIZER_BYTES:
        return init.SerializeToString()
    return f"{init.name}|{init.data_type}|{list(init.dims)}|{init.data_location}".encode()

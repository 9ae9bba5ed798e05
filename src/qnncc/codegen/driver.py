"""PYNQ driver generation for a streaming dataflow partition.

:func:`driver_context` describes the partition's streams (shapes, datatypes,
stream widths, DMA cells) as plain data; :func:`write_driver` renders
``driver.py.j2`` into ``<out_dir>/driver/driver.py``. The generated driver
needs only numpy and pynq on the board: it carries a verbatim copy of the
numpy-only packing section of :mod:`qnncc.codegen.packing`, so packing on the
board is the same code as in qnncc.

Shell convention: stream ``k`` of the partition is served by the AXI DMA cell
``axi_dma_<k>``: its MM2S channel feeds input stream ``k``, its S2MM channel
drains output stream ``k`` through the TLAST inserter ``qnncc_tlast_<k>``
(:mod:`qnncc.codegen.vivado.tlast`). Before each receive transfer the driver writes
the transfer's frame count to the inserter's ``frames`` register and starts
it, so TLAST ends the transfer on its last word.

Example:
    >>> path = write_driver(model, Path("build"))  # doctest: +SKIP
    >>> # on the board: python build/driver/driver.py --input x.npy --output y.npy
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import onnx

from qnncc.codegen import packing
from qnncc.codegen.names import roundup8
from qnncc.codegen.render import CodegenError, render
from qnncc.codegen.software_parts import PARTITION_OP, software_parts, split_software
from qnncc.codegen.vivado.shell import tlast_cell_name
from qnncc.codegen.vivado.tlast import TLAST_AP_IDLE, TLAST_AP_START, TLAST_CTRL_OFFSET, TLAST_FRAMES_OFFSET
from qnncc.codegen.weight_streams import weight_stream_descs, write_weight_streams
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["driver_context", "software_parts", "write_driver"]

DRIVER_TEMPLATE = "driver.py.j2"
#: Files of the software parts the driver runs with onnxruntime before and after the accelerator.
PREFIX_FILE, SUFFIX_FILE = "software_prefix.onnx", "software_suffix.onnx"
#: Where ``Makefile.vivado`` writes the bitstream, relative to the build folder (the driver looks there too).
BITFILE_DIR = "bitfile"


def _partition(model: ModelWrapper) -> tuple[ModelWrapper, dict[str, Any]]:
    """The HW child model and facts about its parent (partition id, software nodes around it)."""
    from qnncc.custom_op import get_custom_op
    from qnncc.custom_op.partition import StreamingDataflowPartition, partition_child

    partitions = [n for n in model.graph.node if n.op_type == PARTITION_OP]
    if not partitions:
        return model, {
            "partition_id": 0,
            "software_nodes": [],
            "model_name": model.graph.name,
            "model_inputs": None,
            "model_outputs": None,
            "software_prefix": None,
            "software_suffix": None,
        }
    if len(partitions) > 1:
        names = [n.name or n.output[0] for n in partitions]
        raise CodegenError(f"model has {len(partitions)} {PARTITION_OP} nodes {names}; the driver supports one")
    sdp = partitions[0]
    op = get_custom_op(sdp)
    if not isinstance(op, StreamingDataflowPartition):
        raise CodegenError(f"node {sdp.name!r}: {PARTITION_OP} is not qnncc's partition op")
    child = partition_child(model, sdp)
    software = [f"{n.op_type} ({n.name or n.output[0]})" for n in model.graph.node if n is not sdp]
    io = [
        [{"name": t, "shape": [int(d) for d in model.get_tensor_shape(t) or []]} for t in names]
        for names in (model.graph_input_names(), model.graph_output_names())
    ]
    before, after = split_software(model, sdp)
    return child, {
        "software_prefix": PREFIX_FILE if before else None,
        "software_suffix": SUFFIX_FILE if after else None,
        "partition_id": int(op.attrs.get("partition_id", 0)),
        "software_nodes": software,
        "model_name": model.graph.name,
        "model_inputs": io[0],
        "model_outputs": io[1],
    }


def _hw_layer(node: onnx.NodeProto, tensor: str) -> Any:
    from qnncc.custom_op import get_custom_op

    what = f"tensor {tensor!r}: node {node.name or node.output[0]!r} ({node.op_type}) is not a HW layer; "
    hint = "pass a partition's child model or a parent model with one StreamingDataflowPartition"
    try:
        layer = get_custom_op(node)
    except QnnccError as err:
        raise CodegenError(what + hint) from err
    if not hasattr(layer, "folded_input_shape"):
        raise CodegenError(what + hint)
    return layer


def _stream(child: ModelWrapper, tensor: str, index: int, direction: str, layer: Any, port: int) -> dict[str, Any]:
    """Description of one partition stream, from its HW layer's port ``port``."""
    if direction == "input":
        normal, folded = layer.normal_input_shape(port), layer.folded_input_shape(port)
        dt, width = layer.input_datatype(port), layer.instream_width(port)
    else:
        normal, folded = layer.normal_output_shape(port), layer.folded_output_shape(port)
        dt, width = layer.output_datatype(port), layer.outstream_width(port)
    normal, folded = [int(d) for d in normal], [int(d) for d in folded]
    node = layer.node
    where = f"{direction} tensor {tensor!r} ({node.op_type} {node.name!r})"
    annotated = child.get_tensor_datatype(tensor)
    if not annotated.is_float() and annotated != dt:
        raise CodegenError(f"{where}: annotated datatype {annotated} differs from the stream's {dt}")
    if not normal or normal[0] != 1:
        raise CodegenError(f"{where}: normal shape {normal} must have a leading batch dimension of 1")
    elems = folded[-1]
    try:
        word_bytes = packing.word_bytes(elems, dt)
    except CodegenError as err:
        raise CodegenError(f"{where}: {err}") from err
    if width != elems * dt.bitwidth():
        raise CodegenError(f"{where}: stream width {width} bits is not {elems} elements x {dt.bitwidth()} bits")
    packed = [*folded[:-1], word_bytes]
    frame_bytes = 1
    for d in packed[1:]:
        frame_bytes *= d
    tlast = {} if direction == "input" else {"tlast": tlast_cell_name(index)}
    return {
        "index": index,
        "name": tensor,
        "node": node.name,
        "op_type": node.op_type,
        "datatype": dt.name,
        "bits": dt.bitwidth(),
        "elems_per_word": elems,
        "words_per_frame": frame_bytes // word_bytes,
        "stream_width": width,
        "axis_width": roundup8(width),
        "word_bytes": word_bytes,
        "normal_shape": normal,
        "folded_shape": folded,
        "packed_shape": packed,
        "frame_shape": normal[1:],
        "frame_bytes": frame_bytes,
        "dma": f"axi_dma_{index}",
        "channel": "sendchannel" if direction == "input" else "recvchannel",
        **tlast,
    }


def driver_context(
    model: ModelWrapper | onnx.ModelProto | str | Path,
    *,
    bitfile_name: str = "qnncc.bit",
    board: str | None = None,
    fclk_mhz: float | None = None,
) -> dict[str, Any]:
    """Everything the PYNQ driver template needs, as plain Python data.

    Args:
        model: the partition's child model (HW layers only), or a parent model
            holding exactly one ``StreamingDataflowPartition`` node (its child
            is used; the parent's software nodes are listed, not executed).
        bitfile_name: bitstream file name; the ``.hwh`` next to it shares its stem.
        board: board name recorded in the build metadata (e.g. ``"Pynq-Z1"``).
        fclk_mhz: PL clock the driver sets before running (``None``: keep the
            clock configured by the bitstream's ``.hwh``).

    Returns:
        ``{"inputs": [...], "outputs": [...], "weights": [...], "meta": {...}}``;
        ``weights`` describes the weight streams of ``mem_mode="external"`` layers
        (:func:`qnncc.codegen.weight_streams.weight_stream_descs`, DMAs after the
        inputs' and outputs' own). Each data stream is a
        dict: ``name`` (tensor), ``index``, ``node``/``op_type`` (HW layer
        at the stream), ``datatype`` (FINN name), ``bits``, ``elems_per_word``,
        ``words_per_frame``, ``stream_width`` (bits), ``axis_width``
        (``roundup8``), ``word_bytes``, ``normal_shape`` (batch 1 first),
        ``folded_shape`` ``[1, ..., words, elems]``, ``packed_shape``
        ``[1, ..., words, word_bytes]``, ``frame_shape`` (normal shape without
        the batch axis), ``frame_bytes``, ``dma`` (cell name ``axi_dma_<k>``),
        ``channel`` (``sendchannel``/``recvchannel``) and, for outputs,
        ``tlast`` (TLAST inserter cell ``qnncc_tlast_<k>``). ``meta`` holds
        ``qnncc_version``, ``model_name``, ``partition_id``,
        ``software_nodes``, ``board``, ``fclk_mhz``, ``bitfile`` and ``hwh``.

    Raises:
        CodegenError: if the model has several partitions, a stream does not
            meet a HW layer, a datatype cannot be packed, or a stream's batch
            dimension is not 1.
    """
    from qnncc.version import __version__

    wrapper = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    child, facts = _partition(wrapper)
    inputs: list[dict[str, Any]] = []
    for k, name in enumerate(child.graph_input_names()):
        consumers = child.find_consumers(name)
        if len(consumers) != 1:
            raise CodegenError(f"input tensor {name!r}: read by {len(consumers)} nodes; a stream needs exactly one")
        node = consumers[0]
        port = list(node.input).index(name)
        inputs.append(_stream(child, name, k, "input", _hw_layer(node, name), port))
    outputs: list[dict[str, Any]] = []
    for k, name in enumerate(child.graph_output_names()):
        producer = child.find_producer(name)
        if producer is None:
            raise CodegenError(f"output tensor {name!r}: no node produces it")
        port = list(producer.output).index(name)
        outputs.append(_stream(child, name, k, "output", _hw_layer(producer, name), port))
    if not inputs or not outputs:
        raise CodegenError(f"partition {child.graph.name!r} needs at least one input and one output stream")
    weights = weight_stream_descs(child, len(inputs))
    stem = bitfile_name.rsplit(".", 1)[0] if "." in bitfile_name else bitfile_name
    meta = {
        "qnncc_version": __version__,
        "model_name": facts["model_name"],
        "partition_name": child.graph.name,
        "partition_id": facts["partition_id"],
        "software_nodes": facts["software_nodes"],
        "board": board,
        "fclk_mhz": fclk_mhz,
        "bitfile": bitfile_name,
        "bitfile_dir": f"../{BITFILE_DIR}",
        "hwh": f"{stem}.hwh",
        "model_inputs": facts["model_inputs"],
        "model_outputs": facts["model_outputs"],
        "software_prefix": facts["software_prefix"],
        "software_suffix": facts["software_suffix"],
    }
    return {"inputs": inputs, "outputs": outputs, "weights": weights, "meta": meta}


def wrapper_of(model: ModelWrapper | onnx.ModelProto | str | Path) -> ModelWrapper:
    """``model`` as a :class:`ModelWrapper`."""
    return model if isinstance(model, ModelWrapper) else ModelWrapper(model)


def python_literal(value: Any, indent: int = 0) -> str:
    """``value`` (dicts, lists, str, int, float, bool, None) as Python source, one item per line.

    Lists of numbers stay on one line; strings use double quotes (JSON escapes are valid Python).

    Raises:
        CodegenError: for a value of another type.
    """
    pad, close = "    " * (indent + 1), "    " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{python_literal(str(k))}: {python_literal(v, indent + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{close}}}"
    if isinstance(value, list | tuple):
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return "[" + ", ".join(repr(v) for v in value) + "]"
        items = [f"{pad}{python_literal(v, indent + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{close}]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise CodegenError(f"cannot write a {type(value).__name__} value into the driver: {value!r}")


def standalone_packing_source() -> str:
    """The numpy-only packing section of :mod:`qnncc.codegen.packing`, as copied into drivers.

    Raises:
        CodegenError: if the section markers are missing from the module source.
    """
    source = inspect.getsource(packing)
    begin = source.find("\n" + packing.STANDALONE_BEGIN + "\n") + 1
    end = source.find("\n" + packing.STANDALONE_END + "\n", begin)
    if begin < 1 or end < 0:
        raise CodegenError("qnncc.codegen.packing: standalone packing section markers not found")
    return source[begin:end].rstrip() + "\n\n\n" + packing.STANDALONE_END + "\n"


def tlast_register_literals() -> dict[str, str]:
    """The TLAST inserter's register offsets and control bits as hex literals for the driver templates."""
    return {
        "ctrl": f"0x{TLAST_CTRL_OFFSET:02X}",
        "frames": f"0x{TLAST_FRAMES_OFFSET:02X}",
        "ap_start": f"0x{TLAST_AP_START:X}",
        "ap_idle": f"0x{TLAST_AP_IDLE:X}",
    }


def write_driver(
    model: ModelWrapper | onnx.ModelProto | str | Path,
    out_dir: Path,
    bitfile_name: str = "qnncc.bit",
    *,
    board: str | None = None,
    fclk_mhz: float | None = None,
) -> Path:
    """Write the PYNQ driver ``<out_dir>/driver/driver.py`` for a partition.

    The weight streams of ``mem_mode="external"`` layers go to ``driver/weights_<layer>.npy``
    (one packed pass each), which the driver streams every frame.

    The driver defines ``QnnccAccelerator`` (a ``pynq.Overlay``) with
    ``execute``, ``batch_size`` and ``throughput_test``, the offline helpers
    ``fold_input``, ``pack_input``, ``unpack_output`` and ``unfold_output``,
    and a command line (``python driver.py --input x.npy --output y.npy``).

    Args:
        model: child or parent model, see :func:`driver_context`.
        out_dir: build folder; ``driver/`` is created in it.
        bitfile_name: bitstream the driver loads by default (looked up next to
            the driver, with its ``.hwh``).
        board: board name for the metadata.
        fclk_mhz: PL clock set by the driver (``None``: the bitstream's).

    Returns:
        Path of the written ``driver.py``.

    Raises:
        CodegenError: see :func:`driver_context`.
    """
    context = driver_context(model, bitfile_name=bitfile_name, board=board, fclk_mhz=fclk_mhz)
    io_config = {"inputs": context["inputs"], "outputs": context["outputs"], "weights": context["weights"]}
    text = render(
        DRIVER_TEMPLATE,
        {
            **context,
            "io_literal": python_literal(io_config),
            "meta_literal": python_literal(context["meta"]),
            "packing_source": standalone_packing_source(),
            "tlast_regs": tlast_register_literals(),
        },
    )
    driver_dir = Path(out_dir) / "driver"
    driver_dir.mkdir(parents=True, exist_ok=True)
    path = driver_dir / "driver.py"
    path.write_text(text)
    if context["weights"]:
        write_weight_streams(_partition(wrapper_of(model))[0], driver_dir)
    if context["meta"]["software_nodes"]:
        wrapper = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
        for proto, name in zip(software_parts(wrapper), (PREFIX_FILE, SUFFIX_FILE), strict=True):
            if proto is not None:
                onnx.save(proto, str(driver_dir / name))
    return path

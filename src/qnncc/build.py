"""``qnncc build``: from an ONNX model to HLS sources, stitch scripts, a PYNQ driver and a verified C++ simulation.

Steps (each timed; see :class:`BuildResult`):

1. ``estimate`` — ingest, tidy, streamline, convert to HW layers, fold
   (folding file, target FPS or fastest that fits), dataflow partition and
   the performance/resource reports (:func:`qnncc.estimate.estimate`);
2. ``prepare`` — width converters between layers whose words differ (InsertDWC);
3. ``hls`` — per-layer HLS C++ and Vitis HLS scripts (:func:`qnncc.codegen.generate_hls`),
   and in the Zynq shell ``tlast`` — the TLAST inserter IPs in front of the DMAs;
4. ``stitch`` — Vivado IPI block design tcl (Zynq shell with DMA, or generic IP), bitstream tcl, Makefile;
5. ``driver`` — the PYNQ driver;
6. ``verify`` (with verification data) — C++ simulation of the whole partition
   against qnncc's execution, bit-exact, plus accuracy when labels are given.

Everything is written to ``<output>.incomplete`` and renamed to ``<output>``
only when every step succeeded, so a failed build never looks finished.
Output layout: ``intermediate_models/``, ``report/``, ``hls/``, ``stitch/``,
``driver/``, ``verification/``, ``Makefile.vivado``, ``build_log.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from qnncc.boards import get_board
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper

__all__ = ["BuildConfig", "BuildResult", "build"]

T = TypeVar("T")


class BuildConfig(BaseModel):
    """Settings of one build (FINN users know them from ``DataflowBuildConfig``).

    Attributes:
        output_dir: build folder.
        board: board name (``qnncc boards``).
        clock_ns: clock period in ns (None: the board's default).
        folding: FINN-format folding file; None lets the optimiser fold.
        target_fps: frames/s the optimiser folds for (None: fastest that fits).
        input_scale: the model's input was ``x * input_scale`` (e.g. ``"1/255"``).
        input_datatype: datatype of the accelerator's integer input.
        shell: ``zynq`` (PS + AXI DMA, PYNQ boards) or ``generic`` (IP with
            external AXI-Stream ports); None picks ``zynq`` for PYNQ boards.
        verify_data: ``.npz`` with ``images`` ``[N, ...]`` (model input values)
            and optionally ``labels`` ``[N]``, simulated in C++.
        verify_count: simulate only the first images (None: all).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    output_dir: Path
    board: str = "Pynq-Z1"
    clock_ns: float | None = Field(default=None, gt=0)
    folding: Path | None = None
    target_fps: float | None = Field(default=None, gt=0)
    input_scale: str | None = None
    input_datatype: str = "UINT8"
    shell: Literal["zynq", "generic"] | None = None
    verify_data: Path | None = None
    verify_count: int | None = Field(default=None, gt=0)


class BuildResult(BaseModel):
    """What a build produced.

    Attributes:
        output_dir: the finished build folder.
        steps: seconds per step, in order.
        layers: HLS top names in stream order.
        verification: cppsim figures (images, agreement with execute,
            accuracy, compile and simulation seconds) or None.
        fps: estimated frames/s of the slowest partition.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    output_dir: Path
    steps: dict[str, float]
    layers: list[str]
    verification: dict[str, Any] | None
    fps: float


def build(
    model: ModelWrapper | str | Path, config: BuildConfig, progress: Callable[[str], None] | None = None
) -> BuildResult:
    """Run the build flow (see the module docstring).

    Args:
        model: model file or loaded model (not modified).
        config: the build settings.
        progress: called with each step's name before it runs (e.g. to print it).

    Returns:
        The :class:`BuildResult`; files are in ``config.output_dir``.

    Raises:
        QnnccError: for bad input or a failing step; the partial output stays
            in ``<output>.incomplete`` and ``<output>`` is not touched.
    """
    from qnncc.codegen import generate_hls, hw_partition, write_driver
    from qnncc.codegen.stitch import write_stitch
    from qnncc.codegen.tlast import write_tlast_ips
    from qnncc.estimate import estimate, write_reports
    from qnncc.transforms.hw import InsertDWC

    board = get_board(config.board)
    clock_ns = config.clock_ns or board.default_clk_ns
    shell = config.shell or ("zynq" if board.pynq else "generic")
    out = Path(config.output_dir)
    tmp = out.with_name(out.name + ".incomplete")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    steps: dict[str, float] = {}

    def step(name: str, fn: Callable[[], T]) -> T:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        value = fn()
        steps[name] = time.perf_counter() - start
        return value

    result = step(
        "estimate",
        lambda: estimate(
            model,
            board=board,
            clock_ns=clock_ns,
            folding=config.folding,
            target_fps=config.target_fps,
            input_scale=config.input_scale,
            input_datatype=config.input_datatype,
        ),
    )
    if len(result.partitions) > 1:
        raise QnnccError(
            f"the design needs {len(result.partitions)} partitions on {board.name}; code generation supports one "
            "(fold more or pick a larger board)"
        )
    write_reports(result, tmp / "report")

    def prepare() -> ModelWrapper:
        child = hw_partition(result.model)
        child.transform(InsertDWC())
        models = tmp / "intermediate_models"
        models.mkdir()
        result.model.save(models / "hw_model.onnx")
        child.save(models / "dataflow_partition.onnx")
        return child

    child = step("prepare", prepare)
    project = step("hls", lambda: generate_hls(child, tmp, part=board.part, clock_ns=clock_ns))
    if shell == "zynq":  # TLAST inserters before the DMAs' S2MM channels (see qnncc.codegen.tlast)
        step("tlast", lambda: write_tlast_ips(child, tmp, board.part, clock_ns))
    step("stitch", lambda: write_stitch(child, tmp, board, clock_ns, shell))
    step("driver", lambda: write_driver(child, tmp, board=board.name))
    verification = None
    if config.verify_data is not None:
        verification = step("verify", lambda: _verify(result.model, child, config, tmp / "verification"))
    (tmp / "build_log.json").write_text(
        json.dumps({"config": json.loads(config.model_dump_json()), "steps_seconds": steps}, indent=2) + "\n"
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return BuildResult(
        output_dir=out,
        steps=steps,
        layers=[c.name for c in project.layers],
        verification=verification,
        fps=1e9 / (result.partition.interval_cycles * clock_ns),
    )


def _prefix_model(model: ModelWrapper, tensor: str) -> ModelWrapper:
    """The part of ``model`` that computes ``tensor`` from the graph input, as a model whose output is ``tensor``."""
    import onnx

    prefix = model.copy()
    graph = prefix.graph
    needed: set[str] = {tensor}
    keep = []
    for node in reversed(prefix.topological_sort()):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep_ids = {id(n) for n in keep}
    for node in list(graph.node):
        if id(node) not in keep_ids:
            graph.node.remove(node)
    shape = model.get_tensor_shape(tensor)
    del graph.output[:]
    graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, shape))
    return prefix


def _run_suffix(model: ModelWrapper, tensor: str, value: np.ndarray) -> np.ndarray:
    """Run the nodes of ``model`` downstream of ``tensor`` on ``value``; the first graph output."""
    from qnncc.execution import execute

    out_name = model.graph.output[0].name
    if tensor == out_name:
        return value
    suffix = model.copy()
    graph = suffix.graph
    reached: set[str] = {tensor}
    keep = []
    for node in suffix.topological_sort():
        if any(i in reached for i in node.input):
            keep.append(node)
            reached.update(node.output)
    keep_ids = {id(n) for n in keep}
    for node in list(graph.node):
        if id(node) not in keep_ids:
            graph.node.remove(node)
    import onnx

    del graph.input[:]
    graph.input.append(
        onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, model.get_tensor_shape(tensor))
    )
    return next(iter(execute(suffix, {tensor: value.astype(np.float32)}).values()))


def _verify(parent: ModelWrapper, child: ModelWrapper, config: BuildConfig, folder: Path) -> dict[str, Any]:
    """C++-simulate the partition on the verification images; compare with execute; write the figures."""
    from qnncc.codegen import build_partition_sim
    from qnncc.execution import execute

    assert config.verify_data is not None
    try:
        data = np.load(config.verify_data)
        images = np.asarray(data["images"], dtype=np.float32)
        labels = np.asarray(data["labels"]) if "labels" in data.files else None
    except (OSError, KeyError, ValueError) as exc:
        raise QnnccError(f"verification data {config.verify_data}: needs an .npz with 'images' ({exc})") from None
    if config.verify_count is not None:
        images = images[: config.verify_count]
        labels = labels[: config.verify_count] if labels is not None else None
    sdp = parent.get_nodes_by_op_type("StreamingDataflowPartition")[0]
    in_shape = parent.get_tensor_shape(parent.graph.input[0].name) or []
    try:
        feed = images.reshape(len(images), *[int(d) for d in in_shape[1:]])
    except ValueError:
        raise QnnccError(
            f"verification images of shape {list(images.shape)} do not fit the model input {in_shape}"
        ) from None
    prefix = _prefix_model(parent, sdp.input[0])
    part_in = next(iter(execute(prefix, {prefix.graph.input[0].name: feed}).values()))
    part_out = next(iter(execute(child, {child.graph.input[0].name: part_in}).values()))
    sim = build_partition_sim(child)
    start = time.perf_counter()
    got = sim.run([part_in.reshape(len(images), -1)])[0]
    sim_seconds = time.perf_counter() - start
    expected = part_out.reshape(got.shape)
    mismatches = int(np.count_nonzero((got != expected).reshape(len(images), -1).any(axis=1)))
    figures: dict[str, Any] = {
        "images": len(images),
        "bit_exact": mismatches == 0,
        "mismatching_images": mismatches,
        "compile_seconds": round(sim.compile_seconds, 3),
        "simulation_seconds": round(sim_seconds, 3),
    }
    if labels is not None:
        final = _run_suffix(parent, sdp.output[0], got)  # software nodes after the partition, if any
        if final.ndim >= 1 and np.issubdtype(final.dtype, np.integer):  # class indices (LabelSelect/TopK)
            predictions = final.reshape(len(images), -1)[:, 0]
            figures["accuracy"] = float(np.mean(predictions == labels.reshape(-1)))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cppsim_results.json").write_text(json.dumps(figures, indent=2) + "\n")
    np.save(folder / "cppsim_output.npy", got)
    if mismatches:
        raise QnnccError(f"C++ simulation differs from execute on {mismatches} of {len(images)} images (see {folder})")
    return figures

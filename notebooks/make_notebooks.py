"""Write the three notebooks of this folder from the cell texts below (outputs are not stored).

Run ``.venv/bin/python notebooks/make_notebooks.py`` after editing a cell here;
``tests/build/test_notebooks.py`` executes the notebooks (and checks they match this file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETTINGS = """
# Builds go to $QNNCC_NOTEBOOK_OUT (the tests set it) or ./notebook_builds beside the notebook.
OUT = Path(os.environ.get("QNNCC_NOTEBOOK_OUT", "notebook_builds"))
MODEL = demo_model_path()  # TFC-W1A1: binarized MLP 784-64-64-64-10, raw pixels 0..255
FOLDING = MODEL.parent / "tfc_w1a1_folding_config.json"
"""


def common(imports: str) -> str:
    """The first code cell: ``imports``, then the output folder and the model paths."""
    return imports.strip() + "\n" + SETTINGS


END_TO_END = [
    new_markdown_cell(
        """# 1. TFC-W1A1 end to end on Pynq-Z1

`qnncc.build` turns a quantized ONNX model into everything an FPGA build needs: per-layer HLS C++,
a Vivado block design (Zynq shell with AXI DMA), a PYNQ driver and the reports, and checks the
generated C++ bit for bit against qnncc's own execution (C++ simulation with g++). No Vivado is needed.

This is the Python twin of

```sh
qnncc build tfc_w1a1.onnx --board Pynq-Z1 --folding folding_config.json --verify-data mnist.npz -o build
```"""
    ),
    new_code_cell(
        common(
            """
import os
from pathlib import Path

import numpy as np

import qnncc
from qnncc.data import demo_inputs, demo_model_path
"""
        )
    ),
    new_markdown_cell("## The model\n\n`qnncc.load` checks the file and annotates FINN/QONNX datatypes."),
    new_code_cell(
        """from qnncc.flow.summary import layer_table

model = qnncc.load(MODEL)
for row in layer_table(model):
    print(f"{row.name:<16} {row.op_type:<40} {row.outputs}")"""
    ),
    new_markdown_cell(
        "## Verification data\n\nThe first 1,000 MNIST test images when the repository's test data is at hand "
        "(a clone), else the four images packaged with qnncc."
    ),
    new_code_cell(
        """mnist = Path(qnncc.__file__).resolve().parents[2] / "tests" / "data" / "mnist_test.npz"
if mnist.exists():
    data = np.load(mnist)
    images, labels = data["images"][:1000].reshape(1000, -1), data["labels"][:1000]
else:
    images, labels = demo_inputs()
OUT.mkdir(parents=True, exist_ok=True)
np.savez(OUT / "verify.npz", images=images.astype(np.float32), labels=labels)
print(images.shape, labels[:10])"""
    ),
    new_markdown_cell(
        "## Build\n\nThe configuration is a frozen pydantic model (unknown settings are errors); "
        "`BuildConfig(...)` mirrors FINN's `DataflowBuildConfig`."
    ),
    new_code_cell(
        """from qnncc.flow.build import BuildConfig

config = BuildConfig(
    output_dir=OUT / "tfc_w1a1",
    board="Pynq-Z1",
    clock_ns=10.0,
    folding=FOLDING,
    verify_data=OUT / "verify.npz",
    fifo_sizing="sim",  # FIFO depths from the cycle-level simulation
)
result = qnncc.build(MODEL, config, progress=lambda step: print("step", step))
print(f"estimated {result.fps:,.0f} FPS; {len(result.layers)} HLS layers: {result.layers}")
print("verification:", result.verification)
for warning in result.warnings:
    print("warning:", warning)"""
    ),
    new_code_cell(
        """assert result.verification["bit_exact"]
print(f"accuracy of the generated C++: {result.verification['accuracy']:.2%}")
print({step: round(seconds, 3) for step, seconds in result.steps.items()})"""
    ),
    new_markdown_cell("## The output folder"),
    new_code_cell(
        """for sub in sorted(config.output_dir.iterdir()):
    count = sum(1 for p in sub.rglob("*") if p.is_file()) if sub.is_dir() else 1
    print(f"{sub.name + ('/' if sub.is_dir() else ''):<24} {count} file(s)")"""
    ),
    new_markdown_cell("The report folder holds FINN-format estimate JSONs, `summary.md`/`summary.html` and two plots."),
    new_code_cell(
        """from IPython.display import Image, Markdown, display

report = config.output_dir / "report"
summary = (report / "summary.md").read_text()
display(Markdown(summary.split("## Resources")[0].replace("![", "[")))  # the performance part
display(Image(filename=str(report / "layer_cycles.png")))
display(Image(filename=str(report / "resource_utilisation.png")))"""
    ),
    new_markdown_cell("One layer's generated HLS top function:"),
    new_code_cell(
        """top = config.output_dir / "hls" / "MVAU_0" / "top_MVAU_0.cpp"
print("\\n".join(top.read_text().splitlines()[:30]))"""
    ),
    new_markdown_cell(
        "## Resume\n\nEvery step saves its model in `intermediate_models/`; `from_step` resumes there and "
        "reproduces the same files."
    ),
    new_code_cell(
        """import hashlib


def digest(folder):
    \"\"\"SHA-256 of every generated HLS file.\"\"\"
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "hls").rglob("*"))
        if p.is_file()
    }


before = digest(config.output_dir)
again = qnncc.build(MODEL, config.model_copy(update={"from_step": "hls"}))
print("resumed from", again.resumed_from, "- steps run:", list(again.steps))
assert digest(config.output_dir) == before
print(len(before), "HLS files identical")"""
    ),
    new_markdown_cell(
        """## On the board

Where Vivado and Vitis HLS are installed, `make -f Makefile.vivado all` in the build folder synthesises
every layer, stitches the block design and writes the bitstream. On the PYNQ board:

```python
from driver import QnnccAccelerator
accel = QnnccAccelerator("qnncc.bit")
classes = accel.run(images)          # the model's input in, what the model returns out
raw = accel.execute(images)          # the accelerator's streams alone (no software nodes)
accel.throughput_test()
```"""
    ),
]

PIPELINE = [
    new_markdown_cell(
        """# 2. The transform pipeline, step by step

qnncc compiles in named steps. This notebook runs the passes of the front end by hand with
`qnncc.Pipeline`, shows the graph after each step, and checks that every step keeps the model's
outputs. Then it builds the rest and walks through the intermediate models the build saved."""
    ),
    new_code_cell(
        common(
            """
import os
from pathlib import Path

import qnncc
from qnncc.data import demo_inputs, demo_model_path
"""
        )
        + '''
images, expected = demo_inputs()  # 4 MNIST images and their classes


def show(model, title):
    """The graph as one line per node: op type, output shape and datatype."""
    print(f"--- {title}: {len(model.graph.node)} nodes")
    for node in model.graph.node:
        out = node.output[0]
        shape = model.get_tensor_shape(out)
        dtype = model.get_tensor_datatype(out).name
        print(f"  {node.op_type:<28} -> {out:<28} {shape!s:<16} {dtype}")


def predict(model, x):
    """The first output of ``model`` on ``x``, one row per image."""
    out = qnncc.execute(model, {model.graph_input_names()[0]: x})
    return out[model.graph_output_names()[0]].reshape(len(x), -1)'''
    ),
    new_markdown_cell(
        "## The front end\n\n`qnncc.flow.estimate.hw_pipeline` is the list of steps `qnncc estimate` and "
        "`qnncc build` run; here each step runs on its own."
    ),
    new_code_cell(
        """from qnncc.core import Pipeline
from qnncc.flow.estimate import hw_pipeline, prepare_input

model, scale, dtype = prepare_input(MODEL)
show(model, "loaded")
steps = hw_pipeline(scale, dtype, insert_topk=True).steps
print([name for name, _ in steps])"""
    ),
    new_code_cell(
        """for name, body in steps:
    step = Pipeline([(name, body)])
    model = step.run(model)
    show(model, f"after {name} ({step.records[0].seconds * 1e3:.1f} ms)")
    got = predict(model, images)
    # the classifier head: logits at first, class indices once TopK/LabelSelect is inserted
    classes = got.argmax(-1) if got.shape[-1] > 1 else got[:, 0]
    assert (classes == expected).all(), name
print("every step keeps the predicted classes:", expected)"""
    ),
    new_markdown_cell(
        "## HW layers in pictures\n\nThe HW-layer graph drawn with networkx: each node one streaming layer."
    ),
    new_code_cell("%matplotlib inline"),
    new_code_cell(
        """import matplotlib.pyplot as plt
import networkx as nx


def draw(model, title):
    \"\"\"The graph of ``model`` left to right, one box per node labelled with its op type.\"\"\"
    graph = nx.DiGraph()
    names = [n.name for n in model.graph.node]
    producer = {t: n.name for n in model.graph.node for t in n.output}
    for node in model.graph.node:
        graph.add_node(node.name)
        for t in node.input:
            if t in producer:
                graph.add_edge(producer[t], node.name)
    pos = {name: (i, 0) for i, name in enumerate(names)}
    _fig, ax = plt.subplots(figsize=(1.6 * len(names), 1.6))
    nx.draw_networkx(
        graph,
        pos,
        ax=ax,
        node_shape="s",
        node_color="#d6eaf8",
        node_size=1800,
        labels={n.name: n.op_type for n in model.graph.node},
        font_size=7,
    )
    ax.set_title(title)
    ax.axis("off")
    plt.show()


draw(model, "after convert_to_hw")"""
    ),
    new_markdown_cell(
        "## The rest of the build\n\n`qnncc.build` runs the same steps and then folding, partitioning, "
        "estimates, width converters, FIFOs and code generation. Every step that changes the model saves it; "
        "`to_step` stops early (no code here)."
    ),
    new_code_cell(
        """from qnncc.flow.build import BuildConfig, checkpoints
from qnncc.flow.steps import step_names

print(" -> ".join(step_names()))
config = BuildConfig(
    output_dir=OUT / "pipeline", folding=FOLDING, to_step="fifo", generate_outputs=["estimate_reports"]
)
result = qnncc.build(MODEL, config)
print({k: round(v, 3) for k, v in result.steps.items()})"""
    ),
    new_code_cell(
        """from qnncc.core import ModelWrapper

saved = checkpoints(config.output_dir)
for path in saved.values():
    m = ModelWrapper(str(path))
    ops = [n.op_type for n in m.graph.node]
    print(f"{path.name:<22} {len(ops):>2} nodes: {', '.join(ops)}")"""
    ),
    new_markdown_cell(
        "After `partition` the HW layers live inside a `StreamingDataflowPartition` node; "
        "`insert_dwc` adds width converters between layers whose stream words differ:"
    ),
    new_code_cell(
        """from qnncc.flow.steps import child_model

final = ModelWrapper(str(saved["fifo"]))
child = child_model(final)
show(child, "the dataflow partition after insert_dwc and fifo")
draw(child, "dataflow partition")
assert (predict(final, images)[:, 0] == expected).all()"""
    ),
]

FOLDING_NB = [
    new_markdown_cell(
        """# 3. Folding and the performance model

Folding sets how many processing elements (PE) and SIMD lanes each layer gets: more lanes, fewer
cycles per frame, more LUTs and BRAM. qnncc's performance model estimates cycles and resources per
layer without synthesis (FINN's formulas), and its optimiser picks the folding for a frame-rate target."""
    ),
    new_code_cell("%matplotlib inline"),
    new_code_cell(
        common(
            """
import os
from pathlib import Path

import matplotlib.pyplot as plt

from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate
"""
        )
    ),
    new_markdown_cell("## The shipped folding\n\nPer-layer cycles of the folding that comes with TFC-W1A1."),
    new_code_cell(
        """given = estimate(MODEL, board="Pynq-Z1", folding=FOLDING)
print(given.summary())"""
    ),
    new_code_cell(
        """from qnncc.boards import get_board
from qnncc.flow.report import estimate_figures
from qnncc.flow.plots import layer_cycles_figure, resource_figure

board = get_board("Pynq-Z1")
figures = estimate_figures(given, board, board.default_clk_ns, target_fps=None)
display(layer_cycles_figure(figures))
display(resource_figure(figures))"""
    ),
    new_markdown_cell(
        "## Unfolding the bottleneck\n\nThe last MVAU takes 640 cycles: its entry in the shipped file is "
        "misspelt (`MVA_hls_3`), so it kept PE = SIMD = 1. More PE/SIMD on it alone moves the bottleneck: "
        "the design is as fast as its slowest layer."
    ),
    new_code_cell(
        """from qnncc.transforms.hw import ApplyFoldingConfig

from qnncc.flow.estimate import estimate_layers

rows = []
for pe, simd in [(1, 8), (2, 8), (5, 8), (10, 8), (10, 16), (10, 32), (10, 64)]:
    hw = given.model.copy()
    hw.transform(ApplyFoldingConfig({"MVAU_3": {"PE": pe, "SIMD": simd}}))
    layers = dict(estimate_layers(hw))
    interval = max(e.cycles for e in layers.values())
    lut = sum(e.lut for e in layers.values())
    rows.append((pe, simd, layers["MVAU_3"].cycles, interval, lut))
    print(f"MVAU_3 PE={pe:<3} SIMD={simd:<3} cycles {rows[-1][2]:>5}  design interval {interval:>5}  LUT {lut:,}")"""
    ),
    new_markdown_cell(
        "## The optimiser: resources against frame rate\n\n"
        "For each target, the cheapest folding the optimiser finds (fewest LUTs, BRAM counted too)."
    ),
    new_code_cell(
        """targets = [1e3, 1e4, 3e4, 1e5, 2e5, 5e5, 1e6]
points = []
for fps in targets:
    r = estimate(MODEL, board="Pynq-Z1", target_fps=fps)
    achieved = r.reports["estimate_network_performance.json"]["estimated_throughput_fps"]
    points.append((fps, achieved, r.partition.lut, r.partition.bram_18k))
    lut, bram = r.partition.lut, r.partition.bram_18k
    print(f"target {fps:>10,.0f}  achieved {achieved:>12,.0f} FPS  LUT {lut:>7,.0f}  BRAM {bram:>4.0f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([p[1] for p in points], [p[2] for p in points], "o-", label="LUT")
ax.set_xscale("log")
ax.set_xlabel("estimated frames/s")
ax.set_ylabel("LUTs")
ax2 = ax.twinx()
ax2.plot([p[1] for p in points], [p[3] for p in points], "s--", color="tab:orange", label="BRAM_18K")
ax2.set_ylabel("BRAM_18K")
ax.set_title("TFC-W1A1 on Pynq-Z1: cost of throughput")
fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
plt.show()"""
    ),
    new_markdown_cell(
        "## The fastest design per board\n\nWithout a target the optimiser folds as fast as each board allows."
    ),
    new_code_cell(
        """boards = ["Pynq-Z1", "Ultra96", "ZCU104", "U250"]
fps = []
for name in boards:
    r = estimate(MODEL, board=name)
    fps.append(r.reports["estimate_network_performance.json"]["estimated_throughput_fps"])
    print(f"{name:<8} {fps[-1]:>14,.0f} FPS, {r.fit.summary()}")
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(boards, fps)
ax.set_xscale("log")
ax.set_xlabel("estimated frames/s (fastest fold)")
plt.show()"""
    ),
    new_markdown_cell(
        "The chosen folding is a FINN-format file, so a build can reuse it: "
        "`qnncc build model.onnx --folding folding_config.json`."
    ),
    new_code_cell(
        """import json

best = estimate(MODEL, board="Pynq-Z1", target_fps=1e5)
print(json.dumps(best.folding, indent=1)[:400])"""
    ),
]

NOTEBOOKS = {
    "01_end_to_end_tfc.ipynb": END_TO_END,
    "02_transform_pipeline.ipynb": PIPELINE,
    "03_folding_exploration.ipynb": FOLDING_NB,
}


def render(cells: list) -> str:
    """The notebook JSON of ``cells`` (no outputs, Python 3 kernel)."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
        cell["source"] = cell["source"].strip("\n")
    return nbformat.writes(nb) + "\n"


def main() -> int:
    for name, cells in NOTEBOOKS.items():
        (HERE / name).write_text(render(cells))
        print("wrote", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

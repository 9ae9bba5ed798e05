"""C simulation of the synthesis code path: every C-simulation fast path off, still bit-exact with ``execute``.

``build_*_sim(..., synthesis_path=True)`` compiles with ``-DQNNCC_SYNTHESIS_PATH``
(``types.hpp``: ``QNNCC_CSIM_FAST`` undefined, as under ``__SYNTHESIS__``), so
the popcount loop, the MVAU's ap_int dot product and every template's
II=1 datapath (the register/RAM split of the max pool, the line buffer's
slot arithmetic, the DWC's constant-range paths) run as Vitis HLS would
synthesise them. The last test breaks only the synthesis branch of the
popcount: the default C simulation still passes, this one does not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from onnx import helper
from test_cppsim_sliding import Case, batch_model, input_datatype, random_values, vvau_case

import qnncc
from qnncc import DataType
from qnncc.codegen.hls import hw_partition
from qnncc.codegen.hls.cppsim import build_layer_sim, build_partition_sim
from qnncc.codegen.render import include_dir
from qnncc.data import demo_model_path
from qnncc.flow.estimate import estimate
from qnncc.hw.layers import HW_DOMAIN

TFC_FOLDING = demo_model_path().parent / "tfc_w1a1_folding_config.json"


def _maxpool(h: int, w: int, kh: int, kw: int, c: int, pe: int, ceil: int = 0) -> Case:
    attrs = {"ImgDim": [h, w], "PoolDim": [kh, kw], "NumChannels": c, "PE": pe, "CeilMode": ceil, "dataType": "INT4"}
    return Case("StreamingMaxPool", attrs, (1, h, w, c))


def _dwc(c: int, i: int, o: int) -> Case:
    attrs = {"dataType": "UINT3", "in_shape": [1, 2, c], "out_shape": [1, 2, c], "inWidth": 3 * i, "outWidth": 3 * o}
    return Case("StreamingDataWidthConverter", attrs, (1, 2, c))


def _swg(k: int, s: int, size: int, c: int, simd: int) -> Case:
    out = (size - k) // s + 1
    attrs = {"ConvKernelDim": [k, k], "IFMChannels": c, "IFMDim": [size, size], "OFMDim": [out, out], "SIMD": simd}
    attrs |= {"Stride": [s, s], "Dilation": [1, 1], "inputDataType": "UINT4", "outputDataType": "UINT4"}
    return Case("ConvolutionInputGenerator", attrs, (1, size, size, c))


def _gap(c: int, pe: int) -> Case:
    attrs = {
        "NumChannels": c,
        "PE": pe,
        "inputDataType": "UINT4",
        "outputDataType": "UINT10",
        "numInputVectors": [1, 3, 5],
    }
    return Case("GlobalAccPool", attrs, (1, 3, 5, c))


CASES = [
    _maxpool(8, 8, 2, 2, 4, 4),  # 2D: a word of all C channels, C/PE = 1: register + RAM distance IW-KW+1
    _maxpool(6, 2, 3, 2, 3, 3),  # OW = 1: the register carries the window, no RAM
    _maxpool(1, 9, 1, 2, 6, 2, 1),  # 1D, C/PE = 3: RAM at distance 3, partial last window (ceil)
    _gap(4, 4),  # C/PE = 1: registers
    _gap(6, 2),  # C/PE = 3: RAM at distance 3
    _swg(2, 1, 6, 2, 1),  # ROWS = 3 (no power of two): the slot kept incrementally
    _swg(3, 2, 9, 4, 2),  # ROWS = 5
    _dwc(12, 2, 6),  # up: constant slots
    _dwc(12, 6, 4),  # neither: fill levels
    _dwc(12, 12, 3),  # down: constant ranges
    vvau_case(8, (3, 3), 2, 1, 0),  # SUB = 1, R = 4 rows: accumulator RAM at distance 4
    vvau_case(8, (3, 3), 4, 3, 3),  # SUB = 3 > R = 2: registers
]


def test_sliding_and_pooling_layers_synthesis_path_equal_execute() -> None:
    model = batch_model(CASES)
    sim = build_partition_sim(model, synthesis_path=True)
    rng = np.random.default_rng(18)
    feeds = {f"x{i}": random_values(rng, input_datatype(c), (2, *c.shape[1:])) for i, c in enumerate(CASES)}
    expected = qnncc.execute(model, feeds, backend="reference")
    for i, (case, y) in enumerate(zip(CASES, sim.run(list(feeds.values())), strict=True)):
        ref = expected[f"y{i}"]
        assert np.array_equal(y.reshape(ref.shape), ref), f"{case.op_type} {case.attrs}"


@pytest.fixture(scope="module")
def tfc_child() -> qnncc.ModelWrapper:
    from qnncc.transforms.hw import InsertDWC

    result = estimate(demo_model_path(), board="Pynq-Z1", folding=json.loads(TFC_FOLDING.read_text()))
    return hw_partition(result.model).transform(InsertDWC())


def test_tfc_partition_synthesis_path_equals_execute(tfc_child: qnncc.ModelWrapper, mnist) -> None:  # type: ignore[no-untyped-def]
    """XNOR popcount, thresholds, width converters and LabelSelect as synthesised, on 500 MNIST images."""
    images = mnist[0][:500].reshape(500, -1)
    sim = build_partition_sim(tfc_child, synthesis_path=True)
    got = sim.run([images])[0]
    name_in, name_out = tfc_child.graph.input[0].name, tfc_child.graph.output[0].name
    expected = qnncc.execute(tfc_child, {name_in: images.reshape(500, *tfc_child.get_tensor_shape(name_in)[1:])})
    np.testing.assert_array_equal(got.reshape(-1), expected[name_out].reshape(-1))


def _xnor_mvau() -> tuple[qnncc.ModelWrapper, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    w = rng.integers(0, 2, (64, 8)).astype(np.float32)
    node = helper.make_node(
        "MVAU", ["x", "w"], ["y"], name="MVAU_0", domain=HW_DOMAIN, MW=64, MH=8, SIMD=16, PE=2,
        binaryXnorMode=1, noActivation=1, inputDataType="BINARY", weightDataType="BINARY", outputDataType="UINT7",
    )  # fmt: skip
    from hw_graphs import hw_graph_model

    model = hw_graph_model([node], {"x": [1, 64]}, ["y"], {"w": w})
    model.set_tensor_datatype("x", DataType["BINARY"])
    x = rng.integers(0, 2, (4, 64)).astype(np.float32)
    return model, {"x": x}


def test_broken_synthesis_branch_is_caught_only_on_the_synthesis_path(tmp_path: Path) -> None:
    """A popcount whose synthesis loop skips the last bit: csim (fast path) passes, the synthesis path fails."""
    library = tmp_path / "include"
    shutil.copytree(include_dir(), library)
    types = library / "qnncc" / "types.hpp"
    loop = "  for (int i = 0; i < N; i++) {\n#pragma HLS UNROLL\n    count += v[i];"
    assert loop in types.read_text()
    types.write_text(types.read_text().replace(loop, loop.replace("i < N;", "i < N - 1;")))
    model, feeds = _xnor_mvau()
    node = model.graph.node[0]
    expected = qnncc.execute(model, feeds)["y"]
    fast = build_layer_sim(model, node, library=library).run([feeds["x"]])[0]
    np.testing.assert_array_equal(fast.reshape(expected.shape), expected)
    synth = build_layer_sim(model, node, synthesis_path=True, library=library).run([feeds["x"]])[0]
    assert not np.array_equal(synth.reshape(expected.shape), expected)
    good = build_layer_sim(model, node, synthesis_path=True).run([feeds["x"]])[0]
    np.testing.assert_array_equal(good.reshape(expected.shape), expected)

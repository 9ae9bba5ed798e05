"""PadChannels: constant channels between fully connected MVAUs leave every output unchanged (exact).

Differential execution before vs after on random integer chains, XNOR chains and
LFC-W1A1 on MNIST; the links that must not be padded; the folding file round trip
(an MVAU entry's ``MH`` pads the unpadded model the same way).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mem_mode_graphs import Layer, mvau_chain, random_input
from onnx import TensorProto, helper
from qnncc.transforms.hw import ApplyFoldingConfig, extract_folding_config
from qnncc.transforms.hw.pad_channels import PadChannels, paddable_link, paddable_links

import qnncc
from qnncc import ModelWrapper
from qnncc.core.errors import QnnccError, TransformationError
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import HW_DOMAIN
from qnncc.flow.estimate import hw_pipeline, prepare_input

LFC = Path(__file__).resolve().parent.parent / "data" / "lfc_w1a1" / "LFCW1A1.onnx"


def xnor_chain(widths: list[int], seed: int) -> ModelWrapper:
    """BINARY ``x [1, widths[0]]`` through XNOR-popcount MVAUs with one threshold each; the last without."""
    rng = np.random.default_rng(seed)
    nodes, inits, dtypes = [], [], {"x": "BINARY"}
    x = "x"
    for k, (mw, mh) in enumerate(itertools.pairwise(widths)):
        last = k == len(widths) - 2
        inits.append(helper.make_tensor(f"W{k}", TensorProto.FLOAT, (mw, mh), rng.integers(0, 2, (mw, mh)).ravel()))
        dtypes[f"W{k}"] = "BINARY"
        inputs = [x, f"W{k}"]
        if not last:
            t = rng.integers(0, mw + 1, (mh, 1)).astype(np.float32)
            inits.append(helper.make_tensor(f"T{k}", TensorProto.FLOAT, t.shape, t.ravel()))
            inputs.append(f"T{k}")
        out = "y" if last else f"a{k}"
        odt = f"UINT{int(mw).bit_length()}" if last else "BINARY"
        nodes.append(
            helper.make_node(
                "MVAU", inputs, [out], domain=HW_DOMAIN, name=f"MVAU_{k}", MW=mw, MH=mh, inputDataType="BINARY",
                weightDataType="BINARY", outputDataType=odt, binaryXnorMode=1, noActivation=int(last),
            )
        )  # fmt: skip
        dtypes[out] = odt
        x = out
    graph = helper.make_graph(
        nodes,
        "xnor_chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, widths[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, widths[-1]])],
        inits,
    )
    model = ModelWrapper(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)])
    )
    for name, dt in dtypes.items():
        model.set_tensor_datatype(name, dt)
    return model


def assert_same_outputs(before: ModelWrapper, after: ModelWrapper, x: np.ndarray) -> None:
    name = before.graph.input[0].name
    a, b = qnncc.execute(before, {name: x}), qnncc.execute(after, {name: x})
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widths=st.lists(st.integers(2, 24), min_size=3, max_size=5),
    pads=st.lists(st.integers(0, 9), min_size=4, max_size=4),
    act_last=st.booleans(),
    noact_middle=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_integer_chain_outputs_unchanged(
    widths: list[int], pads: list[int], act_last: bool, noact_middle: bool, seed: int
) -> None:
    layers = [Layer(mw, mh, wbits=3) for mw, mh in itertools.pairwise(widths)]
    layers[-1] = Layer(widths[-2], widths[-1], wbits=3, act=act_last)
    if noact_middle and len(layers) > 2:  # an accumulator (INT32) feeding the next MVAU: padded value 0
        layers[0] = Layer(widths[0], widths[1], wbits=2, act=False)
    model = mvau_chain(layers, seed=seed)
    links = paddable_links(model)
    assert [link.producer for link in links] == [f"MVAU_{k}" for k in range(len(layers) - 1)]
    counts = {link.tensor: link.channels + pad for link, pad in zip(links, pads, strict=False)}
    padded = model.transform(PadChannels(counts), copy=True)
    assert_same_outputs(model, padded, random_input(model, 6, seed))
    for link in links:
        producer, consumer = padded.get_node_by_name(link.producer), padded.get_node_by_name(link.consumer)
        assert producer is not None and consumer is not None
        assert padded.get_nodeattr(producer, "MH") == padded.get_nodeattr(consumer, "MW") == counts[link.tensor]
        assert padded.get_nodeattr(producer, "padOutputs", 0) == counts[link.tensor] - link.channels


@settings(max_examples=20, deadline=None)
@given(
    widths=st.lists(st.integers(2, 40), min_size=3, max_size=5),
    pad=st.integers(1, 11),
    seed=st.integers(0, 1000),
)
def test_xnor_chain_outputs_unchanged(widths: list[int], pad: int, seed: int) -> None:
    model = xnor_chain(widths, seed)
    counts = {link.tensor: link.channels + pad + k for k, link in enumerate(paddable_links(model))}
    assert len(counts) == len(widths) - 2
    padded = model.transform(PadChannels(counts), copy=True)
    x = np.random.default_rng(seed).integers(0, 2, (8, widths[0])).astype(np.float32)
    assert_same_outputs(model, padded, x)


@pytest.fixture(scope="module")
def lfc_hw() -> ModelWrapper:
    work, scale, dtype = prepare_input(LFC, "1/255")
    return hw_pipeline(scale, dtype, False).run(work)


def test_lfc_padded_is_bit_exact_on_mnist(lfc_hw: ModelWrapper, mnist) -> None:
    links = paddable_links(lfc_hw)
    assert [link.channels for link in links] == [1024, 1024, 1024]
    counts = dict(zip([link.tensor for link in links], (1025, 1040, 1050), strict=True))
    padded = lfc_hw.transform(PadChannels(counts), copy=True)
    assert_same_outputs(lfc_hw, padded, mnist[0][:300])


def test_unpaddable_links_are_refused(lfc_hw: ModelWrapper) -> None:
    model = mvau_chain([Layer(8, 6), Layer(6, 4), Layer(4, 2, act=False)])
    bipolar = model.copy()
    bipolar.set_nodeattr(bipolar.get_node_by_name("MVAU_1"), "weightDataType", "BIPOLAR")  # no zero weight
    assert [link.producer for link in paddable_links(bipolar)] == []
    last = lfc_hw.get_node_by_name("MVAU_3")  # XNOR popcount output: depends on the input
    assert last is not None and paddable_link(lfc_hw, last) is None
    with pytest.raises(QnnccError, match="'y': not a paddable"):
        model.transform(PadChannels({"y": 3}), copy=True)
    with pytest.raises(QnnccError, match="'a0': cannot pad 6 channels down to 5"):
        model.transform(PadChannels({"a0": 5}), copy=True)


def test_fork_is_not_paddable() -> None:
    model = mvau_chain([Layer(8, 6), Layer(6, 4, act=False)])
    model.graph.output.append(helper.make_tensor_value_info("a0", TensorProto.FLOAT, [1, 6]))
    assert paddable_links(model) == []


def test_folding_file_reproduces_the_padding(lfc_hw: ModelWrapper, mnist) -> None:
    links = paddable_links(lfc_hw)
    padded = lfc_hw.transform(PadChannels({links[1].tensor: 1040}), copy=True)
    padded.transform(ApplyFoldingConfig({"MVAU_1": {"PE": 26}, "MVAU_2": {"SIMD": 40}}))
    config = extract_folding_config(padded)
    assert config["MVAU_1"]["MH"] == 1040 and "MH" not in config["MVAU_0"] and "MH" not in config["MVAU_2"]
    again = lfc_hw.transform(ApplyFoldingConfig(config), copy=True)
    for node in padded.graph.node:
        other = again.get_node_by_name(node.name)
        assert other is not None
        if node.domain == HW_DOMAIN:
            assert get_custom_op(other).attrs == get_custom_op(node).attrs
        for name in node.input[1:]:
            np.testing.assert_array_equal(again.get_initializer(name), padded.get_initializer(name))
    assert_same_outputs(lfc_hw, again, mnist[0][:50])
    with pytest.raises(TransformationError, match="cannot pad 1024 channels down to 1000"):
        lfc_hw.transform(ApplyFoldingConfig({"MVAU_1": {"MH": 1000}}), copy=True)

"""Annotations round-trip between qnncc and qonnx (DataType and tensor layout).

Uses the packaged golden file TFC-W1A1 (annotated by FINN: BIPOLAR weights,
UINT8 input, INT32 accumulators, list-form layouts) and files written by each
tool, read back by the other.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

import qnncc
from qnncc import DataType, ModelWrapper
from qnncc.data import demo_model_path

qonnx_mw = pytest.importorskip("qonnx.core.modelwrapper")
qonnx_dt = pytest.importorskip("qonnx.core.datatype")
QModelWrapper = qonnx_mw.ModelWrapper
QDataType = qonnx_dt.DataType
pytestmark = pytest.mark.filterwarnings("ignore:Some old-style domain attributes:UserWarning")

# names qnncc writes whose meaning qonnx shares (FIXED needs i < w in qonnx)
WRITE_NAMES = [
    "BINARY",
    "BIPOLAR",
    "TERNARY",
    "INT1",
    "INT3",
    "UINT4",
    "INT8",
    "UINT16",
    "INT32",
    "UINT64",
    "FIXED<8,3>",
    "FIXED<16,1>",
    "FLOAT32",
    "FLOAT16",
]
LAYOUTS = [["N", "C"], ["N", "C", "H", "W"], ["N", "H", "W", "C"], ["N", "C", "x"], ["N", "W", "C"]]


def annotated(model) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for qa in model.graph.quantization_annotation:
        for kv in qa.quant_parameter_tensor_names:
            if kv.key:
                out.setdefault(qa.tensor_name, {})[kv.key] = kv.value
    return out


def float_tensors(model: ModelWrapper) -> list[str]:
    """Tensors whose default datatype both tools agree on (float32 or unknown element type)."""
    return [t for t in model.get_all_tensor_names() if model.get_tensor_elem_type(t) in (None, TensorProto.FLOAT)]


def test_golden_annotations_read_the_same():
    path = demo_model_path()
    ours, theirs = ModelWrapper(path), QModelWrapper(str(path))
    notes = annotated(ours.model)
    assert {notes[t]["finn_datatype"] for t in notes if "finn_datatype" in notes[t]} >= {"BIPOLAR", "UINT8", "INT32"}
    assert ours.get_tensor_datatype("global_in") == DataType["UINT8"]
    assert ours.get_tensor_datatype("MatMul_0_param0") == DataType["BIPOLAR"]
    assert ours.get_tensor_layout("global_in") == "NCHW"
    for name in set(notes) | set(float_tensors(ours)):
        assert ours.get_tensor_datatype(name).name == theirs.get_tensor_datatype(name).name, name
        layout = theirs.get_tensor_layout(name)
        assert ours.get_tensor_layout(name) == ("".join(layout) if layout is not None else None), name


def test_qnncc_written_annotations_load_in_qonnx(tmp_path):
    model = qnncc.load(demo_model_path())
    tensors = [t for t in model.get_all_tensor_names() if not model.is_constant(t)]
    written: dict[str, tuple[str, list[str]]] = {}
    for k, name in enumerate(tensors):
        dt, layout = WRITE_NAMES[k % len(WRITE_NAMES)], LAYOUTS[k % len(LAYOUTS)]
        model.set_tensor_datatype(name, dt)
        model.set_tensor_layout(name, layout if k % 2 else "".join(layout))  # list or string form
        written[name] = (dt, layout)
    model.set_tensor_datatype("MatMul_1_param0", None)  # removal: qonnx falls back to FLOAT32 too
    path = tmp_path / "by_qnncc.onnx"
    model.save(path)
    theirs = QModelWrapper(str(path))
    for name, (dt, layout) in written.items():
        assert theirs.get_tensor_datatype(name) == QDataType[dt], name
        assert theirs.get_tensor_datatype(name).name == dt
        assert theirs.get_tensor_layout(name) == layout, name
    assert theirs.get_tensor_datatype("MatMul_1_param0") == QDataType["FLOAT32"]
    assert theirs.get_tensor_datatype("MatMul_0_param0") == QDataType["BIPOLAR"]  # untouched golden note
    for name in float_tensors(model):
        assert model.get_tensor_datatype(name).name == theirs.get_tensor_datatype(name).name, name


def test_qonnx_written_annotations_load_in_qnncc(tmp_path):
    theirs = QModelWrapper(str(demo_model_path()))
    tensors = [t for t in theirs.get_all_tensor_names() if theirs.get_initializer(t) is None]
    written: dict[str, tuple[str, list[str]]] = {}
    for k, name in enumerate(tensors):
        dt, layout = WRITE_NAMES[(3 * k) % len(WRITE_NAMES)], LAYOUTS[(3 * k) % len(LAYOUTS)]
        theirs.set_tensor_datatype(name, QDataType[dt])
        theirs.set_tensor_layout(name, layout)
        written[name] = (dt, layout)
    theirs.set_tensor_datatype("MatMul_2_out0", None)  # qonnx clears the entry in place
    path = tmp_path / "by_qonnx.onnx"
    theirs.save(str(path))
    del written["MatMul_2_out0"]
    for ours in (ModelWrapper(path), qnncc.load(path)):
        for name, (dt, layout) in written.items():
            assert ours.get_tensor_datatype(name) == DataType[dt], name
            assert ours.get_tensor_layout(name) == "".join(layout), name
        assert ours.get_tensor_datatype("MatMul_2_out0") == DataType["FLOAT32"]
        assert ours.get_tensor_datatype("MatMul_0_param0") == DataType["BIPOLAR"]


def test_round_trip_through_both_tools(tmp_path):
    ours = ModelWrapper(demo_model_path())
    ours.set_tensor_datatype("Sub_0_out0", "TERNARY")
    ours.set_tensor_datatype("Sub_0_out0", "FIXED<12,4>")  # updated in place, not appended
    ours.set_tensor_layout("Sub_0_out0", ["N", "C"])
    assert annotated(ours.model)["Sub_0_out0"] == {"finn_datatype": "FIXED<12,4>", "tensor_layout": "['N', 'C']"}
    ours.save(tmp_path / "a.onnx")
    theirs = QModelWrapper(str(tmp_path / "a.onnx"))
    assert theirs.get_tensor_datatype("Sub_0_out0") == QDataType["FIXED<12,4>"]
    theirs.set_tensor_datatype("Div_0_out0", QDataType["INT5"])
    theirs.save(str(tmp_path / "b.onnx"))
    again = ModelWrapper(tmp_path / "b.onnx")
    assert again.get_tensor_datatype("Sub_0_out0").name == "FIXED<12,4>"
    assert again.get_tensor_datatype("Div_0_out0") == DataType["INT5"]
    assert again.get_tensor_layout("Sub_0_out0") == "NC"
    expected = annotated(ours.model)
    expected["Div_0_out0"]["finn_datatype"] = "INT5"
    assert annotated(again.model) == expected  # nothing else changed on the way


def test_qonnx_executes_a_qnncc_saved_model_identically(tmp_path):
    """The saved file is a valid FINN-ONNX model to qonnx: same predictions as qnncc."""
    exec_mod = pytest.importorskip("qonnx.core.onnx_exec")
    model = qnncc.load(demo_model_path())
    model.set_tensor_datatype("Div_0_out0", "FLOAT32")
    model.save(tmp_path / "m.onnx")
    images, expected = qnncc.data.demo_inputs()
    theirs = QModelWrapper(str(tmp_path / "m.onnx"))
    for i in range(len(images)):
        ctx = exec_mod.execute_onnx(theirs, {"global_in": images[i : i + 1]})
        ours = qnncc.execute(model, {"global_in": images[i : i + 1]})
        np.testing.assert_array_equal(ours["global_out"], ctx["global_out"])
        assert int(ours["global_out"].ravel()[0]) == expected[i]

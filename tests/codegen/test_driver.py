"""Generated PYNQ driver: context, offline helpers, standalone import, fake-DMA execution."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper

from qnncc.codegen.driver import driver_context, standalone_packing_source, write_driver
from qnncc.codegen.packing import pack_words, unpack_words
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op import get_custom_op
from qnncc.custom_op.partition import HW_DOMAIN
from qnncc.data import demo_folding_config, demo_inputs, demo_model_path
from qnncc.execution import Executor
from qnncc.flow.estimate import estimate

DATA = Path(__file__).parents[1] / "data"
_counter = itertools.count()


# ----------------------------------------------------------------- models
@pytest.fixture(scope="module")
def tfc_parent() -> ModelWrapper:
    return estimate(demo_model_path(), board="Pynq-Z1", folding=demo_folding_config()).model


@pytest.fixture(scope="module")
def tfc_child(tfc_parent: ModelWrapper) -> ModelWrapper:
    sdp = next(n for n in tfc_parent.graph.node if n.op_type == "StreamingDataflowPartition")
    return ModelWrapper(get_custom_op(sdp).child_model())


@pytest.fixture(scope="module")
def tfc_driver(tfc_parent: ModelWrapper, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_driver(tfc_parent, tmp_path_factory.mktemp("tfc"), board="Pynq-Z1")


@pytest.fixture(scope="module")
def tfc_images() -> np.ndarray:
    """The 4 packaged TFC inputs and the first 10 MNIST test images, [14, 784] in 0..255."""
    x, _ = demo_inputs()
    mnist = np.load(DATA / "mnist_test.npz")["images"][:10].astype(np.float32)
    return np.concatenate([x.reshape(4, 784), mnist.reshape(10, 784)])


def _model(nodes: list[Any], inputs: list[str], outputs: list[str], shapes: dict[str, list[int]]) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "test_partition",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shapes[n]) for n in outputs],
    )
    imports = [helper.make_opsetid("", 13), helper.make_opsetid(HW_DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=imports))


def fifo_model() -> ModelWrapper:
    """Loopback: one INT5 FIFO, frames [4, 4, 6], 3 elements per 15-bit word (2 bytes)."""
    fifo = helper.make_node(
        "StreamingFIFO",
        ["x"],
        ["y"],
        name="FIFO_0",
        domain=HW_DOMAIN,
        dataType="INT5",
        depth=16,
        normal_shape=[1, 4, 4, 6],
        folded_shape=[1, 4, 4, 2, 3],
    )
    model = _model([fifo], ["x"], ["y"], {"x": [1, 4, 4, 6], "y": [1, 4, 4, 6]})
    for t in ("x", "y"):
        model.set_tensor_datatype(t, "INT5")
    return model


def two_stream_model() -> ModelWrapper:
    """Inputs a, b (INT4, PE 2) -> AddStreams -> DuplicateStreams (INT5, PE 4) -> outputs o1, o2."""
    add = helper.make_node(
        "AddStreams", ["a", "b"], ["s"], name="Add_0", domain=HW_DOMAIN, inputDataType="INT4", NumChannels=8, PE=2
    )
    dup = helper.make_node(
        "DuplicateStreams",
        ["s"],
        ["o1", "o2"],
        name="Dup_0",
        domain=HW_DOMAIN,
        inputDataType="INT5",
        NumChannels=8,
        PE=4,
        NumOutputStreams=2,
    )
    model = _model([add, dup], ["a", "b"], ["o1", "o2"], {t: [1, 8] for t in ("a", "b", "o1", "o2")})
    for t, dt in (("a", "INT4"), ("b", "INT4"), ("s", "INT5"), ("o1", "INT5"), ("o2", "INT5")):
        model.set_tensor_datatype(t, dt)
    return model


# ----------------------------------------------------------------- loading the driver
def load_driver(path: Path, monkeypatch: pytest.MonkeyPatch, pynq: Any = None) -> types.ModuleType:
    """Import the generated driver from its folder; ``pynq=None`` makes ``import pynq`` fail."""
    monkeypatch.setitem(sys.modules, "pynq", pynq)
    monkeypatch.delitem(sys.modules, "pynq.ps", raising=False)
    spec = importlib.util.spec_from_file_location(f"qnncc_test_driver_{next(_counter)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------- fake PYNQ
class FakeBuffer(np.ndarray):
    """Stand-in for a ``pynq.buffer.PynqBuffer``: an ndarray with flush/invalidate/freebuffer."""

    def flush(self) -> None:
        pass

    def invalidate(self) -> None:
        pass

    def freebuffer(self) -> None:
        self.freed = True


class FakeChannel:
    def __init__(self, shell: FakeShell, dma: int, direction: str) -> None:
        self.shell, self.dma, self.direction = shell, dma, direction

    def transfer(self, buf: np.ndarray, start: int = 0, nbytes: int = 0) -> None:
        nbytes = nbytes or buf.nbytes - start
        assert buf.dtype == np.uint8 and buf.flags.c_contiguous
        assert start >= 0 and start + nbytes <= buf.nbytes
        if start:
            assert start % 16 == 0, "transfer start must stay aligned"
        if nbytes > self.shell.max_size:
            raise ValueError(f"Transfer size is {nbytes} bytes, which exceeds the maximum DMA buffer size")
        self.shell.transfer(self.dma, self.direction, buf, start, nbytes)

    def wait(self) -> None:
        self.shell.wait(self.dma, self.direction)


class FakeDMA:
    def __init__(self, shell: FakeShell, index: int) -> None:
        self.sendchannel = FakeChannel(shell, index, "send")
        self.recvchannel = FakeChannel(shell, index, "recv")
        if shell.max_size < 2**26:
            self.buffer_max_size = shell.max_size


class FakeTlast:
    """A TLAST inserter ``qnncc_tlast_<k>``: AXI-Lite ``read``/``write`` of CTRL (0x00) and ``frames`` (0x10).

    Setting ap_start arms it for one S2MM transfer of ``frames`` frames (the shell checks the count);
    ``register_map`` mimics the one PYNQ builds from the .hwh (``None``: no register information).
    """

    def __init__(self, shell: FakeShell, index: int, register_map: bool = True) -> None:
        self.shell, self.index = shell, index
        self.regs = {0x00: 0x4, 0x10: 0}  # CTRL: ap_idle
        self.writes: list[tuple[int, int]] = []
        if register_map:
            self.register_map = types.SimpleNamespace(
                CTRL=types.SimpleNamespace(address=0x00), frames=types.SimpleNamespace(address=0x10)
            )

    def read(self, offset: int) -> int:
        return self.regs[offset]

    def write(self, offset: int, value: int) -> None:
        assert offset in self.regs, f"write to unknown register 0x{offset:x}"
        self.writes.append((offset, value))
        if offset == 0x00 and value & 1:
            assert self.regs[0x00] & 0x4, "ap_start while busy"
            self.shell.tlast_started(self.index, self.regs[0x10])
        else:
            self.regs[offset] = value


class FakeShell:
    """The accelerator behind the DMAs: runs the partition with qnncc on the bytes sent by MM2S.

    ``loopback=True`` instead copies MM2S bytes of DMA k to its S2MM buffer (sizes must match).
    Checks that every S2MM transfer starts before any MM2S transfer of the same run, and that the
    TLAST inserter of each output was programmed with the transfer's frame count and started before
    its S2MM transfer (``tlast_log`` records ``(output, frames)`` per start).
    """

    def __init__(self, model: ModelWrapper, max_size: int = 2**26, loopback: bool = False) -> None:
        self.context = driver_context(model)
        self.executor = Executor(model, backend="reference")
        self.max_size, self.loopback = max_size, loopback
        self.pending: dict[tuple[int, str], tuple[np.ndarray, int, int]] = {}
        self.runs: list[int] = []
        self.armed: dict[int, int] = {}  # output -> frames of the started TLAST inserter
        self.tlast_log: list[tuple[int, int]] = []

    def tlast_started(self, index: int, frames: int) -> None:
        assert index not in self.armed, "TLAST inserter started twice for one transfer"
        self.armed[index] = frames
        self.tlast_log.append((index, frames))

    def transfer(self, dma: int, direction: str, buf: np.ndarray, start: int, nbytes: int) -> None:
        if direction == "send":
            recvs = {k for (k, d) in self.pending if d == "recv"}
            assert recvs == set(range(len(self.context["outputs"]))), "start S2MM before MM2S"
        else:
            frame_bytes = self.context["outputs"][dma]["frame_bytes"]
            assert dma in self.armed, "start the TLAST inserter before its S2MM transfer"
            assert self.armed.pop(dma) * frame_bytes == nbytes, "TLAST frames differ from the S2MM transfer"
        assert (dma, direction) not in self.pending, "transfer on a busy channel"
        self.pending[(dma, direction)] = (buf, start, nbytes)

    def wait(self, dma: int, direction: str) -> None:
        assert (dma, direction) in self.pending or direction == "send", "wait without transfer"
        if direction == "send":
            return  # the run happens when the first S2MM wait finds MM2S transfers pending
        if any(d == "send" for (_, d) in self.pending):
            self._run()
        self.pending.pop((dma, direction))

    def _run(self) -> None:
        ins, outs = self.context["inputs"], self.context["outputs"]
        sent = [self.pending.pop((k, "send")) for k in range(len(ins))]
        if self.loopback:
            for k, (buf, start, nbytes) in enumerate(sent):
                obuf, ostart, onbytes = self.pending[(k, "recv")]
                assert onbytes == nbytes, "loopback needs equal transfer sizes"
                obuf.reshape(-1)[ostart : ostart + onbytes] = buf.reshape(-1)[start : start + nbytes]
            self.runs.append(sent[0][2] // ins[0]["frame_bytes"])
            return
        feeds = {}
        frames = sent[0][2] // ins[0]["frame_bytes"]
        for s, (buf, start, nbytes) in zip(ins, sent, strict=True):
            assert nbytes == frames * s["frame_bytes"]
            raw = buf.reshape(-1)[start : start + nbytes].reshape((frames, *s["packed_shape"][1:]))
            values = unpack_words(raw, s["datatype"], s["elems_per_word"])
            feeds[s["name"]] = values.reshape((frames, *s["frame_shape"])).astype(np.float32)
        result = self.executor.run(feeds)
        for k, s in enumerate(outs):
            obuf, ostart, onbytes = self.pending[(k, "recv")]
            assert onbytes == frames * s["frame_bytes"]
            folded = result[s["name"]].reshape((frames, *s["folded_shape"][1:]))
            obuf.reshape(-1)[ostart : ostart + onbytes] = pack_words(folded, s["datatype"]).reshape(-1)
        self.runs.append(frames)


def fake_pynq(shell: FakeShell, register_map: bool = True) -> types.ModuleType:
    """A ``pynq`` stand-in: ``Overlay`` exposes the ``axi_dma_<k>`` and ``qnncc_tlast_<k>`` cells of ``shell``.

    ``allocate`` gives FakeBuffers; ``register_map=False`` gives TLAST inserters without a register map.
    """
    module = types.ModuleType("pynq")
    allocations: list[tuple[tuple[int, ...], Any, dict[str, Any]]] = []
    streams = max(len(shell.context["inputs"]), len(shell.context["outputs"]))

    class Overlay:
        def __init__(self, bitfile_name: str, download: bool = True, **kwargs: Any) -> None:
            self.loaded = (bitfile_name, download)
            for k in range(streams):
                setattr(self, f"axi_dma_{k}", FakeDMA(shell, k))
            for k in range(len(shell.context["outputs"])):
                setattr(self, f"qnncc_tlast_{k}", FakeTlast(shell, k, register_map))

    def allocate(shape: tuple[int, ...], dtype: Any = "u4", **kwargs: Any) -> FakeBuffer:
        allocations.append((tuple(shape), np.dtype(dtype), kwargs))
        return np.zeros(shape, dtype=dtype).view(FakeBuffer)

    module.Overlay = Overlay  # type: ignore[attr-defined]
    module.allocate = allocate  # type: ignore[attr-defined]
    module.allocations = allocations  # type: ignore[attr-defined]
    return module


# ----------------------------------------------------------------- context
def test_context_of_tfc(tfc_parent: ModelWrapper, tfc_child: ModelWrapper) -> None:
    ctx = driver_context(tfc_parent, board="Pynq-Z1")
    (inp,) = ctx["inputs"]
    (out,) = ctx["outputs"]
    assert inp["name"] == "Reshape_0_out0_pre_mul0" and inp["node"] == "Thresholding_0"
    assert (inp["datatype"], inp["bits"], inp["elems_per_word"], inp["stream_width"]) == ("UINT8", 8, 49, 392)
    assert inp["normal_shape"] == [1, 784] and inp["frame_shape"] == [784]
    assert inp["folded_shape"] == [1, 16, 49] and inp["packed_shape"] == [1, 16, 49]
    assert (inp["frame_bytes"], inp["dma"], inp["channel"]) == (784, "axi_dma_0", "sendchannel")
    assert (out["name"], out["datatype"], out["stream_width"], out["axis_width"]) == ("global_out", "UINT4", 4, 8)
    assert out["folded_shape"] == [1, 1, 1] and out["packed_shape"] == [1, 1, 1] and out["frame_bytes"] == 1
    assert (out["dma"], out["channel"], out["tlast"]) == ("axi_dma_0", "recvchannel", "qnncc_tlast_0")
    assert "tlast" not in inp
    assert ctx["meta"]["software_nodes"] == ["Reshape (Reshape_0)"]
    assert ctx["meta"]["board"] == "Pynq-Z1" and ctx["meta"]["hwh"] == "qnncc.hwh"
    child = driver_context(tfc_child)
    assert child["inputs"] == ctx["inputs"] and child["outputs"] == ctx["outputs"]
    json.dumps(ctx)  # plain data


def test_context_of_two_streams() -> None:
    ctx = driver_context(two_stream_model())
    assert [(s["name"], s["dma"], s["packed_shape"]) for s in ctx["inputs"]] == [
        ("a", "axi_dma_0", [1, 4, 1]),
        ("b", "axi_dma_1", [1, 4, 1]),
    ]
    assert [(s["name"], s["datatype"], s["dma"], s["packed_shape"]) for s in ctx["outputs"]] == [
        ("o1", "INT5", "axi_dma_0", [1, 2, 3]),
        ("o2", "INT5", "axi_dma_1", [1, 2, 3]),
    ]


def test_context_rejects_two_partitions(tfc_parent: ModelWrapper) -> None:
    model = tfc_parent.copy()
    sdp = next(n for n in model.graph.node if n.op_type == "StreamingDataflowPartition")
    twin = model.graph.node.add()
    twin.CopyFrom(sdp)
    twin.name = "twin"
    with pytest.raises(CodegenError, match="2 StreamingDataflowPartition nodes"):
        driver_context(model)


def test_context_rejects_inconsistent_annotation() -> None:
    model = fifo_model()
    model.set_tensor_datatype("x", "INT8")
    with pytest.raises(CodegenError, match=r"'x'.*INT8 differs from the stream's INT5"):
        driver_context(model)


# ----------------------------------------------------------------- offline helpers
def test_driver_imports_without_pynq(tfc_driver: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drv = load_driver(tfc_driver, monkeypatch, pynq=None)
    assert drv.allocate is None and drv.IO["inputs"][0]["datatype"] == "UINT8"
    with pytest.raises(ImportError, match="needs pynq"):
        drv.QnnccAccelerator()
    assert tfc_driver.parent.name == "driver"
    text = tfc_driver.read_text()
    assert standalone_packing_source() in text
    ast.parse(text, feature_version=(3, 8))  # PYNQ 2.7 images run Python 3.8


def test_driver_is_deterministic(tfc_parent: ModelWrapper, tfc_driver: Path, tmp_path: Path) -> None:
    assert write_driver(tfc_parent, tmp_path, board="Pynq-Z1").read_text() == tfc_driver.read_text()


def test_context_rejects_software_graph() -> None:
    with pytest.raises(CodegenError, match="is not a HW layer"):
        driver_context(demo_model_path())


def test_driver_helpers_equal_qnncc_packing(
    tfc_driver: Path, tfc_images: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    drv = load_driver(tfc_driver, monkeypatch)
    folded = drv.fold_input(tfc_images)
    assert folded.shape == (14, 16, 49)
    packed = drv.pack_input(folded)
    np.testing.assert_array_equal(packed, pack_words(tfc_images.reshape(14, 16, 49), "UINT8"))
    back = drv._unpack_array(packed, "UINT8", 49).reshape(14, 784)
    np.testing.assert_array_equal(back, tfc_images)
    labels = np.arange(14).reshape(14, 1, 1) % 10
    out_bytes = pack_words(labels, "UINT4")
    unpacked = drv.unpack_output(out_bytes)
    np.testing.assert_array_equal(unpacked, unpack_words(out_bytes, "UINT4", 1))
    np.testing.assert_array_equal(drv.unfold_output(unpacked), labels.reshape(14, 1))
    rng = np.random.default_rng(0)
    for name in ("BIPOLAR", "INT3", "UINT13", "INT16", "FIXED<8,3>", "TERNARY"):
        x = rng.integers(-1, 2, size=(5, 7)) if name in ("BIPOLAR", "TERNARY") else rng.integers(0, 4, size=(5, 7))
        if name == "BIPOLAR":
            x = np.where(x == 0, 1, x)
        np.testing.assert_array_equal(drv._pack_array(x, name), pack_words(x, name))


def test_driver_helpers_reject_bad_inputs(tfc_driver: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drv = load_driver(tfc_driver, monkeypatch)
    with pytest.raises(ValueError, match=r"input 0 \(Reshape_0_out0_pre_mul0\): got shape \[2, 28, 28\]"):
        drv.fold_input(np.zeros((2, 28, 28)))
    x = np.zeros((2, 784), np.float32)
    x[1, 5] = 256
    with pytest.raises(ValueError, match=r"input 0 .*value 256.0 at index \(1, 0, 5\) .* UINT8"):
        drv.pack_input(drv.fold_input(x))
    x[1, 5] = 0.5
    with pytest.raises(ValueError, match=r"value 0\.5"):
        drv.pack_input(drv.fold_input(x))
    with pytest.raises(ValueError, match="packed shape"):
        drv.unpack_output(np.zeros((2, 2, 1), np.uint8))


def test_driver_runs_without_qnncc(tfc_driver: Path, tfc_images: np.ndarray, tmp_path: Path) -> None:
    """The driver file alone, with qnncc, onnx and pynq unimportable, packs like qnncc."""
    np.save(tmp_path / "x.npy", tfc_images)
    script = f"""
import importlib.abc, importlib.util, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("qnncc", "onnx", "pynq", "onnxruntime"):
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, Block())
for mod in [m for m in sys.modules if m.split(".")[0] in ("qnncc", "onnx")]:
    del sys.modules[mod]
spec = importlib.util.spec_from_file_location("driver", {str(tfc_driver)!r})
drv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(drv)
import numpy as np
x = np.load({str(tmp_path / "x.npy")!r})
np.save({str(tmp_path / "p.npy")!r}, drv.pack_input(drv.fold_input(x)))
assert not any(m.split(".")[0] in ("qnncc", "onnx", "pynq") for m in sys.modules)
"""
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), pack_words(tfc_images.reshape(14, 16, 49), "UINT8"))


# ----------------------------------------------------------------- fake hardware
def test_execute_tfc_on_fake_dma(
    tfc_parent: ModelWrapper,
    tfc_child: ModelWrapper,
    tfc_driver: Path,
    tfc_images: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shell = FakeShell(tfc_child)
    pynq = fake_pynq(shell)
    drv = load_driver(tfc_driver, monkeypatch, pynq)
    accel = drv.QnnccAccelerator(batch_size=5)
    # no bitstream next to the driver: the one Makefile.vivado writes (bitfile/qnncc.bit of the build folder)
    assert accel.loaded == (str(tfc_driver.parent.parent / "bitfile" / "qnncc.bit"), True)
    assert [a[:2] for a in pynq.allocations] == [((5, 16, 49), np.uint8), ((5, 1, 1), np.uint8)]
    y = accel.execute(tfc_images)
    assert y.shape == (14, 1) and y.dtype == np.int64
    expected = Executor(tfc_child).run({"Reshape_0_out0_pre_mul0": tfc_images})["global_out"]
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y[:4, 0], demo_inputs()[1])
    assert shell.runs == [5, 5, 4]
    # before each S2MM transfer: frames = the batch's frame count, then ap_start
    assert shell.tlast_log == [(0, 5), (0, 5), (0, 4)] and not shell.armed
    assert accel.qnncc_tlast_0.writes == [(0x10, 5), (0x00, 1), (0x10, 5), (0x00, 1), (0x10, 4), (0x00, 1)]
    accel.batch_size = 14
    np.testing.assert_array_equal(accel.execute([tfc_images]), expected)
    assert shell.runs[-1] == 14


def test_execute_splits_transfers_at_the_dma_limit(
    tfc_child: ModelWrapper, tfc_driver: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = np.load(DATA / "mnist_test.npz")["images"][:100].reshape(100, 784).astype(np.float32)
    shell = FakeShell(tfc_child, max_size=784 * 40)
    drv = load_driver(tfc_driver, monkeypatch, fake_pynq(shell))
    accel = drv.QnnccAccelerator(batch_size=100)
    y = accel.execute(images)
    assert shell.runs == [32, 32, 32, 4]
    assert shell.tlast_log == [(0, 32), (0, 32), (0, 32), (0, 4)]  # one TLAST batch per chunk
    expected = Executor(tfc_child).run({"Reshape_0_out0_pre_mul0": images})["global_out"]
    np.testing.assert_array_equal(y, expected)
    small = FakeShell(tfc_child, max_size=700)
    drv = load_driver(tfc_driver, monkeypatch, fake_pynq(small))
    with pytest.raises(RuntimeError, match="limited to 700 bytes"):
        drv.QnnccAccelerator(batch_size=2).execute(images[:2])


def test_loopback_wires_buffers_shapes_and_packing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = fifo_model()
    path = write_driver(model, tmp_path)
    shell = FakeShell(model, loopback=True)
    drv = load_driver(path, monkeypatch, fake_pynq(shell))
    x = np.random.default_rng(1).integers(-16, 16, size=(7, 4, 4, 6))
    accel = drv.QnnccAccelerator(batch_size=4)
    assert accel.ibuf[0].shape == (4, 4, 4, 2, 2) and accel.obuf[0].shape == (4, 4, 4, 2, 2)
    y = accel.execute(x)
    assert y.shape == (7, 4, 4, 6)
    np.testing.assert_array_equal(y, x)
    assert shell.runs == [4, 3]
    with pytest.raises(ValueError, match="value 16"):
        accel.execute(np.full((1, 4, 4, 6), 16))


def test_two_input_two_output_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = two_stream_model()
    path = write_driver(model, tmp_path, bitfile_name="two.bit")
    shell = FakeShell(model)
    drv = load_driver(path, monkeypatch, fake_pynq(shell))
    rng = np.random.default_rng(2)
    a, b = rng.integers(-8, 8, size=(2, 9, 8))
    accel = drv.QnnccAccelerator(batch_size=9)
    assert accel.loaded[0].endswith("two.bit")
    o1, o2 = accel.execute([a, b])
    np.testing.assert_array_equal(o1, a + b)
    np.testing.assert_array_equal(o2, a + b)
    assert shell.tlast_log == [(0, 9), (1, 9)]
    with pytest.raises(ValueError, match="2 input streams"):
        accel.execute(a)


def test_tlast_offsets_fallback_busy_and_missing_cell(
    tfc_child: ModelWrapper, tfc_driver: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = FakeShell(tfc_child)
    drv = load_driver(tfc_driver, monkeypatch, fake_pynq(shell, register_map=False))
    accel = drv.QnnccAccelerator(batch_size=3)
    tlast = accel.qnncc_tlast_0
    assert not hasattr(tlast, "register_map")
    assert (accel.otlast[0].ctrl, accel.otlast[0].frames) == (drv.TLAST_CTRL, drv.TLAST_FRAMES) == (0x00, 0x10)
    accel.execute_on_buffers()
    assert tlast.writes == [(0x10, 3), (0x00, 1)] and shell.runs == [3]
    tlast.regs[0x00] = 0  # previous batch never finished: not idle
    monkeypatch.setattr(drv, "TLAST_IDLE_TIMEOUT", 0.01)
    with pytest.raises(RuntimeError, match="qnncc_tlast_0 is still busy"):
        accel.execute_on_buffers()
    pynq = fake_pynq(FakeShell(tfc_child))
    init = pynq.Overlay.__init__

    def without_tlast(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        del self.qnncc_tlast_0

    pynq.Overlay.__init__ = without_tlast
    drv = load_driver(tfc_driver, monkeypatch, pynq)
    with pytest.raises(RuntimeError, match=r"no IP cell 'qnncc_tlast_0'.*TLAST inserter"):
        drv.QnnccAccelerator()


def test_throughput_test_and_cli(
    tfc_child: ModelWrapper, tfc_driver: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = FakeShell(tfc_child)
    drv = load_driver(tfc_driver, monkeypatch, fake_pynq(shell))
    res = drv.QnnccAccelerator(batch_size=50).throughput_test()
    assert res["batch_size"] == 50 and shell.runs == [50]
    assert res["runtime[ms]"] > 0 and res["throughput[images/s]"] > 0
    assert res["DRAM_in_bandwidth[MB/s]"] == pytest.approx(50 * 784 * 1e-6 / (res["runtime[ms]"] / 1e3))
    assert res["DRAM_out_bandwidth[MB/s]"] == pytest.approx(res["DRAM_in_bandwidth[MB/s]"] / 784)
    for key in ("fold_input[ms]", "pack_input[ms]", "unpack_output[ms]", "fclk[mhz]"):
        assert key in res
    x, expected = demo_inputs()
    np.save(tmp_path / "x.npy", x)
    assert drv.main(["--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"), "--reshape"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy").reshape(-1), expected)
    metrics = tmp_path / "metrics.json"
    assert drv.main(["--exec-mode", "throughput_test", "--batch-size", "8", "--output", str(metrics)]) == 0
    assert json.loads(metrics.read_text())["batch_size"] == 8
    # the command line runs the whole model (its software Reshape too) unless --accelerator-only
    assert drv.main(["--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "z.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy").reshape(-1), expected)
    with pytest.raises(ValueError, match=r"got shape \[4, 1, 28, 28\]"):
        drv.main(["--input", str(tmp_path / "x.npy"), "--accelerator-only"])
    np.save(tmp_path / "bad.npy", x.reshape(4, 28, 28))
    with pytest.raises(ValueError, match=r"model input 0 \(global_in\): got shape \[4, 28, 28\]"):
        drv.main(["--input", str(tmp_path / "bad.npy")])


# ----------------------------------------------------------------- software parts (issue 19)
CNV = DATA / "brevitas_dev" / "cnv3_w2a2" / "model_qonnx.onnx"


@pytest.fixture(scope="module")
def cnv_build(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from qnncc.flow.build import BuildConfig, build

    out = tmp_path_factory.mktemp("cnv") / "build"
    return build(CNV, BuildConfig(output_dir=out, generate_outputs=["driver"], fifo_sizing="off"))


def test_cnn_driver_runs_the_software_parts_and_returns_what_the_model_returns(
    cnv_build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qnncc.custom_op.partition import only_partition_child
    from qnncc.execution import execute

    parent = cnv_build.model
    path = cnv_build.output_dir / "driver" / "driver.py"
    drv = load_driver(path, monkeypatch, fake_pynq(FakeShell(only_partition_child(parent))))
    software = [n for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"]
    assert drv.META["software_nodes"] == [f"{n.op_type} ({n.name})" for n in software]
    assert {n.op_type for n in software} >= {"TopK"}  # the classifier head runs in software
    assert drv.META["software_suffix"] == "software_suffix.onnx" and (path.parent / "software_suffix.onnx").is_file()
    images = np.load(DATA / "mnist_test.npz")["images"][5000:5012].astype(np.float32).reshape(12, 1, 28, 28)
    accel = drv.QnnccAccelerator(batch_size=5)
    got = accel.run(images)
    expected = execute(parent, {parent.graph_input_names()[0]: images})[parent.graph_output_names()[0]]
    assert got.shape == expected.shape == (12, 1) and np.issubdtype(got.dtype, np.integer)
    np.testing.assert_array_equal(got, expected)
    reference = np.load(CNV.parent / "ref_preds.npy")[:12]  # the Brevitas model's classes for images 5000..
    assert np.mean(got.reshape(-1) == reference) >= 11 / 12
    # the accelerator alone takes NHWC frames (the input reshape may run in software before it)
    raw = accel.execute(images.transpose(0, 2, 3, 1))  # the partition's output, before the software head
    assert raw.shape[0] == 12 and raw.shape != got.shape


def test_driver_bitfile_is_where_makefile_vivado_writes_it(tfc_driver: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from qnncc.codegen.render import render

    makefile = render("vivado_Makefile.j2", {"tops": ["MVAU_0"], "mode": "zynq"})
    result = re.search(r"^RESULT\s*:=\s*(\S+)", makefile, re.M)
    assert result is not None
    drv = load_driver(tfc_driver, monkeypatch)
    build_dir = tfc_driver.parent.parent
    assert Path(drv.DEFAULT_BITFILE) == build_dir / result.group(1)
    (tfc_driver.parent / "qnncc.bit").write_bytes(b"")  # a bitstream copied next to the driver wins
    try:
        assert Path(load_driver(tfc_driver, monkeypatch).DEFAULT_BITFILE) == tfc_driver.parent / "qnncc.bit"
    finally:
        (tfc_driver.parent / "qnncc.bit").unlink()

"""Check a generated Vitis link flow (``<build>/vitis/``) without Vitis.

:func:`check_vitis_link` reads ``vitis/link.cfg`` as ``v++ --config`` does
(``#`` comments, ``[section]`` headers, ``key=value`` lines; UG1393, "v++
configuration file") and checks, against what the rest of the build folder
says independently of the link writer:

* syntax: only the ``[connectivity]`` section, only ``nk``, ``stream_connect``,
  ``sp`` and ``slr`` keys, each value in its documented form
  (``nk=<kernel>:<count>:<cu>[.<cu>...]``, ``stream_connect=<cu>.<port>:<cu>.<port>[:<depth>]``,
  ``sp=<cu>.<port>:<bank>``, ``slr=<cu>:SLR<n>``);
* every kernel exists: a Vitis HLS kernel ``vitis/kernels/<kernel>.cpp``
  whose ``extern "C"`` function is the kernel (ports from its arguments: an
  ``hls::stream`` argument is an AXI-Stream port, a master if the function
  writes it, a slave if it reads it; a pointer argument with an ``m_axi``
  pragma is a memory port), or a partition packaged by ``vitis/package_xo.tcl``
  (``-kernel_name``, ``-ip_directory``) from a stitched block design of that
  name (ports: the external ports its own stitch script makes, run in the
  stub Vivado of :mod:`vivado_stub`);
* every compute unit and port named exists; streams join a master to a slave
  of the same width; every stream port is connected exactly once and every
  memory port mapped to exactly one bank of the platform; every compute unit
  is in exactly one SLR of the platform, and a DMA kernel's bank is in its SLR;
* SLR resources: the HW layers of each partition (``intermediate_models``),
  estimated with :func:`qnncc.hw.perf.estimate_layer`, plus one DDR controller
  per bank used, fit each SLR's kernel resources (UG1120's per-SLR figures,
  kept here as the harness's own table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SLR_LIMITS", "VitisCheck", "check_vitis_link"]

#: Kernel resources per SLR (UG1120) and the DDR bank of each SLR.
SLR_LIMITS: dict[str, list[dict[str, int]]] = {
    "U250": [{"LUT": 345_000, "FF": 690_000, "BRAM_18K": 1_000, "URAM": 320, "DSP": 2_877}] * 4,
    "U280": [
        {"LUT": 369_000, "FF": 746_000, "BRAM_18K": 1_014, "URAM": 320, "DSP": 2_733},
        {"LUT": 333_000, "FF": 675_000, "BRAM_18K": 936, "URAM": 320, "DSP": 2_877},
        {"LUT": 367_000, "FF": 729_000, "BRAM_18K": 1_024, "URAM": 320, "DSP": 2_880},
    ],
}
BANKS: dict[str, dict[str, int]] = {
    "U250": {f"DDR[{k}]": k for k in range(4)},
    "U280": {"DDR[0]": 0, "DDR[1]": 1},
}
#: One DDR4 controller in the dynamic region (FINN's figure).
DDR_CONTROLLER = {"LUT": 33_256, "FF": 44_889, "BRAM_18K": 199, "URAM": 0, "DSP": 3}

_NAME = r"[A-Za-z_]\w*"
_FORMS = {
    "nk": re.compile(rf"^({_NAME}):(\d+):({_NAME}(?:\.{_NAME})*)$"),
    "stream_connect": re.compile(rf"^({_NAME})\.({_NAME}):({_NAME})\.({_NAME})(?::(\d+))?$"),
    "sp": re.compile(rf"^({_NAME})\.({_NAME}):(\w+\[\d+(?::\d+)?\])$"),
    "slr": re.compile(rf"^({_NAME}):SLR(\d+)$"),
}


@dataclass
class VitisCheck:
    """Result: problems (empty when the flow passes) and per-SLR estimated use."""

    problems: list[str] = field(default_factory=list)
    slr_use: dict[int, dict[str, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


def _parse_cfg(text: str, problems: list[str]) -> dict[str, list[tuple[int, tuple[str, ...]]]]:
    entries: dict[str, list[tuple[int, tuple[str, ...]]]] = {k: [] for k in _FORMS}
    section = ""
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not re.fullmatch(r"\[\w+\]", line):
                problems.append(f"link.cfg line {n}: bad section header {line!r}")
            section = line[1:-1]
            if section != "connectivity":
                problems.append(f"link.cfg line {n}: section [{section}] is not expected")
            continue
        key, eq, value = line.partition("=")
        if not eq or section != "connectivity" or key not in _FORMS:
            problems.append(f"link.cfg line {n}: {line!r} is not a [connectivity] nk/stream_connect/sp/slr entry")
            continue
        m = _FORMS[key].match(value)
        if m is None:
            problems.append(f"link.cfg line {n}: {key}={value!r} does not have the form v++ expects")
            continue
        entries[key].append((n, m.groups()))
    return entries


def _hls_ports(source: Path, kernel: str) -> dict[str, tuple[str, str, int]] | None:
    """Ports of a Vitis HLS kernel: name -> (axis|m_axi, master|slave, width); None if not the kernel's source."""
    text = source.read_text()
    m = re.search(rf'extern\s+"C"\s+void\s+{kernel}\s*\((.*?)\)\s*\{{', text, re.S)
    if m is None:
        return None
    body = text[m.end() :]
    ports: dict[str, tuple[str, str, int]] = {}
    for arg in [a.strip() for a in re.split(r",(?![^<]*>)", m.group(1))]:
        name = re.findall(r"(\w+)\s*$", arg)[0]
        stream = re.search(r"hls::stream<\s*ap_axiu<\s*(\d+)", arg)
        if stream:
            mode = "master" if re.search(rf"\b{name}\.write\(", body) else "slave"
            ports[name] = ("axis", mode, int(stream.group(1)))
        elif "*" in arg and re.search(rf"INTERFACE\s+m_axi\s+port\s*=\s*{name}\b", body):
            ports[name] = ("m_axi", "master", 0)
    return ports


def _partition_ports(build: Path, kernel: str, tcl_text: str, problems: list[str]) -> dict[str, tuple[str, str, int]]:
    from vivado_stub.check import check_stitch_tcl_stub

    m = re.search(
        rf"package_xo\b[^\n]*?-kernel_name\s+{kernel}\s+-ctrl_protocol\s+ap_ctrl_none\s*\\?\s*\n?\s*"
        r"-ip_directory\s+\[file join \$qnncc_build_dir ([\w/.]+)\]",
        tcl_text,
    )
    if m is None:
        problems.append(f"kernel {kernel}: neither an HLS kernel source nor packaged by package_xo.tcl")
        return {}
    root = build / m.group(1)
    for _ in range(3):
        root = root.parent
    tcl = root / "stitch" / "stitch_ipi.tcl"
    if not tcl.is_file():
        problems.append(f"kernel {kernel}: its IP directory {m.group(1)} has no stitch script {tcl}")
        return {}
    vv, sub = check_stitch_tcl_stub(tcl, root / "stitch" / "ip_catalog.json")
    problems += [f"kernel {kernel}: stitch script: {p}" for p in sub]
    if vv.bd != kernel:
        problems.append(f"kernel {kernel}: the packaged block design is {vv.bd!r} (the kernel must be its top)")
    return {n: (p.kind, p.mode, p.width) for n, p in vv.ports.items() if p.intf}


def _partition_resources(build: Path, kernel: str) -> dict[str, float]:
    from qnncc import ModelWrapper
    from qnncc.custom_op import get_custom_op
    from qnncc.custom_op.partition import is_hw
    from qnncc.hw.perf import estimate_layer

    m = re.fullmatch(r"qnncc_partition_(\d+)", kernel)
    name = f"dataflow_partition_{m.group(1)}.onnx" if m else "dataflow_partition.onnx"
    model = ModelWrapper(str(build / "intermediate_models" / name))
    use = dict.fromkeys(DDR_CONTROLLER, 0.0)
    for node in model.graph.node:
        if is_hw(node):
            est = estimate_layer(node.op_type, dict(get_custom_op(node).attrs), emitted=True)
            for k, v in (
                ("LUT", est.lut),
                ("FF", est.ff),
                ("BRAM_18K", est.bram_18k),
                ("URAM", est.uram),
                ("DSP", est.dsp),
            ):
                use[k] += v
    return use


def check_vitis_link(build_dir: str | Path, board: str) -> VitisCheck:
    """Check ``<build_dir>/vitis`` for ``board`` (see the module docstring)."""
    build = Path(build_dir)
    vitis = build / "vitis"
    result = VitisCheck()
    problems = result.problems
    cfg = vitis / "link.cfg"
    if not cfg.is_file():
        problems.append(f"no {cfg}")
        return result
    entries = _parse_cfg(cfg.read_text(), problems)
    tcl_text = (vitis / "package_xo.tcl").read_text() if (vitis / "package_xo.tcl").is_file() else ""
    cu_kernel: dict[str, str] = {}
    ports: dict[str, dict[str, tuple[str, str, int]]] = {}
    packaged: set[str] = set()  # kernels that are partitions found in package_xo.tcl
    for n, (kernel, count, cus) in entries["nk"]:
        names = cus.split(".")
        if int(count) != len(names):
            problems.append(f"link.cfg line {n}: nk {kernel} count {count} but {len(names)} compute unit names")
        source = vitis / "kernels" / f"{kernel}.cpp"
        kports = _hls_ports(source, kernel) if source.is_file() else None
        if kports is None:
            kports = _partition_ports(build, kernel, tcl_text, problems)
            if kports:
                packaged.add(kernel)
        for cu in names:
            if cu in cu_kernel:
                problems.append(f"link.cfg line {n}: compute unit {cu} declared twice")
            cu_kernel[cu] = kernel
            ports[cu] = kports
    uses: dict[str, int] = {}
    for n, (scu, sport, dcu, dport, _depth) in entries["stream_connect"]:
        ends = []
        for cu, port, want in ((scu, sport, "master"), (dcu, dport, "slave")):
            if cu not in cu_kernel:
                problems.append(f"link.cfg line {n}: compute unit {cu} is not declared by nk")
                continue
            info = ports[cu].get(port)
            if info is None or info[0] != "axis":
                problems.append(f"link.cfg line {n}: {cu} ({cu_kernel[cu]}) has no AXI-Stream port {port}")
                continue
            if info[1] != want:
                problems.append(f"link.cfg line {n}: {cu}.{port} is a {info[1]}, the connection needs a {want}")
            uses[f"{cu}.{port}"] = uses.get(f"{cu}.{port}", 0) + 1
            ends.append(info[2])
        if len(ends) == 2 and ends[0] != ends[1]:
            problems.append(f"link.cfg line {n}: {scu}.{sport} is {ends[0]} bits, {dcu}.{dport} {ends[1]} bits")
    banks = BANKS.get(board, {})
    cu_bank: dict[str, str] = {}
    for n, (cu, port, bank) in entries["sp"]:
        if cu not in cu_kernel or ports[cu].get(port, ("",))[0] != "m_axi":
            problems.append(f"link.cfg line {n}: {cu}.{port} is not a memory port of a declared compute unit")
        if bank not in banks:
            problems.append(f"link.cfg line {n}: {board} has no memory bank {bank}")
        uses[f"{cu}.{port}"] = uses.get(f"{cu}.{port}", 0) + 1
        cu_bank[cu] = bank
    for cu, kports in ports.items():
        for port, (proto, _, _) in kports.items():
            if uses.get(f"{cu}.{port}", 0) != 1:
                what = "stream" if proto == "axis" else "memory"
                problems.append(f"{what} port {cu}.{port} is used {uses.get(f'{cu}.{port}', 0)} times, not once")
    limits = SLR_LIMITS.get(board)
    if limits is None:
        problems.append(f"board {board} has no SLR table in the harness")
        return result
    cu_slr: dict[str, int] = {}
    for n, (cu, slr) in entries["slr"]:
        if cu not in cu_kernel:
            problems.append(f"link.cfg line {n}: compute unit {cu} is not declared by nk")
        elif cu in cu_slr:
            problems.append(f"link.cfg line {n}: compute unit {cu} is placed twice")
        elif int(slr) >= len(limits):
            problems.append(f"link.cfg line {n}: {board} has no SLR{slr}")
        cu_slr[cu] = int(slr)
    problems += [f"compute unit {cu} has no slr= placement" for cu in cu_kernel if cu not in cu_slr]
    for cu, bank in cu_bank.items():
        if bank in banks and cu in cu_slr and banks[bank] != cu_slr[cu]:
            problems.append(f"{cu} sits in SLR{cu_slr[cu]} but its memory {bank} is in SLR{banks[bank]}")
    use = {k: dict.fromkeys(DDR_CONTROLLER, 0.0) for k in range(len(limits))}
    for cu, kernel in cu_kernel.items():
        if kernel in packaged and cu in cu_slr and cu_slr[cu] < len(limits):
            for k, v in _partition_resources(build, kernel).items():
                use[cu_slr[cu]][k] += v
    for slr in {banks[b] for b in cu_bank.values() if b in banks}:
        for k, v in DDR_CONTROLLER.items():
            use[slr][k] += v
    for slr, u in use.items():
        over = [f"{k} {u[k]:.0f} > {limits[slr][k]}" for k in u if u[k] > limits[slr][k]]
        if over:
            problems.append(f"SLR{slr} is over its resources: {', '.join(over)}")
    result.slr_use = use
    return result

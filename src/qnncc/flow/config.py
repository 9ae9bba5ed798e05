"""Build configuration: :class:`BuildConfig`, loadable from JSON or YAML (FINN's ``DataflowBuildConfig``).

Example (``build.yaml``; relative paths are relative to the file)::

    board: Pynq-Z1
    clock_ns: 10
    folding: folding_config.json        # or target_fps: 100000
    output_dir: build_tfc
    verify_data: mnist.npz
    fifo_sizing: sim
    generate_outputs: [estimate_reports, plots, hls, stitch, driver]

FINN's ``DataflowBuildConfig`` names are accepted where they map, ignored
with a note or refused with the reason (:mod:`qnncc.flow.finn_config`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qnncc.core.errors import ConfigError
from qnncc.flow.finn_config import FINN_IGNORED, FINN_UNSUPPORTED, finn_output, finn_settings, normalize_step

__all__ = [
    "BUILD_STEPS",
    "Backend",
    "FINN_IGNORED",
    "FINN_UNSUPPORTED",
    "OUTPUTS",
    "PIPELINE_STEPS",
    "BuildConfig",
    "ConfigError",
    "load_build_config",
    "make_build_config",
    "normalize_step",
]

Output = Literal["estimate_reports", "plots", "hls", "stitch", "driver"]
#: Every output a build can generate (all by default).
OUTPUTS: tuple[Output, ...] = ("estimate_reports", "plots", "hls", "stitch", "driver")

#: The steps of the front end ``qnncc estimate`` and ``qnncc build`` share
#: (:func:`qnncc.flow.estimate.hw_pipeline`), in order.
PIPELINE_STEPS: tuple[str, ...] = (
    "tidy",
    "qonnx_to_finn",
    "prepare_io",
    "streamline",
    "lower",
    "convert_to_hw",
    "names",
)
#: Every build step in flow order (static: a configuration is checked without building a pipeline).
BUILD_STEPS: tuple[str, ...] = (
    "load",
    *PIPELINE_STEPS,
    *("fold", "partition", "estimate", "insert_dwc", "fifo", "hls", "rtl", "synth", "stitch", "driver", "verify"),
)
#: Code generation backends: ``hls`` (HLS C++ per layer, the default) or ``rtl`` (qnncc's Verilog library).
Backend = Literal["hls", "rtl"]


class BuildConfig(BaseModel):
    """Settings of one build (FINN users know them from ``DataflowBuildConfig``).

    Attributes:
        output_dir: build folder.
        board: board name (``qnncc boards``).
        clock_ns: clock period in ns (None: the board's default).
        folding: FINN-format folding file; None lets the optimiser fold.
        target_fps: frames/s the optimiser folds for (None: fastest that fits);
            not together with ``folding``.
        folding_mode: ``estimate`` (the optimiser costs layers with FINN's
            formulas) or ``resources`` (it minimises the LUTs of the model
            fitted on Yosys synthesis of qnncc's RTL, :mod:`qnncc.hw.perf.fitted`).
        stream_weights: when the optimiser's on-chip plan does not fit, stream the
            weights of the MVAUs that do not fit from DRAM (``mem_mode="external"``,
            :mod:`qnncc.hw.mem_mode_opt`) before splitting into partitions.
        pad_channels: in the ``resources`` mode with a ``target_fps``, let the
            optimiser pad the channels between fully connected MVAUs with
            constant channels when that opens a cheaper folding
            (:mod:`qnncc.hw.padding_opt`; outputs unchanged).
        strict_folding: fail when any folding-file entry names no layer (by
            default only a file none of whose entries match fails; the others
            are warnings).
        input_scale: the model's input was ``x * input_scale`` (e.g. ``"1/255"``).
        input_datatype: datatype of the accelerator's integer input.
        insert_topk: append a top-1 ``TopK`` when the model ends in class scores
            (``[N, K]``, non-binary; :func:`qnncc.transforms.streamline.topk.classifier_output`).
        shell: ``zynq`` (PS + AXI DMA, PYNQ boards) or ``generic`` (IP with
            external AXI-Stream ports); None picks ``zynq`` for PYNQ boards.
        verify_data: ``.npz`` with ``images`` ``[N, ...]`` (model input values)
            and optionally ``labels`` ``[N]``, simulated in C++ by the ``verify`` step.
        verify_count: simulate only the first images (None: all).
        fifo_sizing: ``sim`` (depths from the cycle-level simulation,
            :class:`~qnncc.transforms.hw.set_fifo_depths.SetFIFODepths`),
            ``largefifo`` (a FIFO holding one whole frame on every stream) or
            ``off`` (no FIFO nodes; each stream holds 2 words).
        steps: the steps to run, in flow order (None: every step the outputs need;
            see :data:`BUILD_STEPS`).
        from_step: resume at this step from the intermediate model a previous
            build of ``output_dir`` saved (FINN's ``start_step``).
        to_step: stop after this step (FINN's ``stop_step``).
        generate_outputs: what to write: ``estimate_reports`` (FINN JSONs and
            the summary), ``plots`` (PNG, matplotlib), ``hls``, ``stitch``, ``driver``.
        backend: ``hls`` (HLS C++ per layer, step ``hls``; the default) or ``rtl``
            (Verilog from qnncc's RTL library, step ``rtl``: ``rtl/`` with the
            stitched partition top; the stitch uses the modules as module
            references and ``verify`` simulates the partition with Verilator).
            The output ``hls`` stands for the chosen backend's layer sources.
        synth: run the ``synth`` step: Yosys ``synth_xilinx`` per layer of the
            RTL (any backend; ``report/synth.json`` and a table in the summary).
        save_intermediate_models: save the model after each step (needed by ``from_step``).
        force: write into an output folder that is not empty and not a qnncc
            build (only the entries qnncc writes are replaced; see :mod:`qnncc.flow.outdir`).
        scheduler: Dask scheduler ``tcp://HOST:PORT`` that runs the build's independent
            jobs (per-layer C++ compiles, simulation shards); None: ``$QNNCC_SCHEDULER``,
            else a local process pool (:func:`qnncc.jobs.get_executor`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    output_dir: Path
    board: str = "Pynq-Z1"
    clock_ns: float | None = Field(default=None, gt=0, validation_alias=AliasChoices("clock_ns", "synth_clk_period_ns"))
    folding: Path | None = Field(default=None, validation_alias=AliasChoices("folding", "folding_config_file"))
    target_fps: float | None = Field(default=None, gt=0)
    folding_mode: Literal["estimate", "resources"] = "estimate"
    stream_weights: bool = True
    pad_channels: bool = True
    strict_folding: bool = False
    input_scale: str | None = None
    input_datatype: str = "UINT8"
    insert_topk: bool = True
    shell: Literal["zynq", "generic"] | None = None
    verify_data: Path | None = None
    verify_count: int | None = Field(default=None, gt=0)
    fifo_sizing: Literal["sim", "largefifo", "off"] = "sim"
    steps: tuple[str, ...] | None = None
    from_step: str | None = Field(default=None, validation_alias=AliasChoices("from_step", "start_step"))
    to_step: str | None = Field(default=None, validation_alias=AliasChoices("to_step", "stop_step"))
    generate_outputs: tuple[Output, ...] = OUTPUTS
    backend: Backend = "hls"
    synth: bool = False
    save_intermediate_models: bool = True
    force: bool = False
    scheduler: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _finn_names(cls, data: Any) -> Any:
        return finn_settings(data) if isinstance(data, dict) else data

    @field_validator("input_scale", mode="before")
    @classmethod
    def _scale_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("steps", mode="before")
    @classmethod
    def _split_steps(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [s for s in value.split(",") if s.strip()]
        return value

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        known = BUILD_STEPS
        names = tuple(dict.fromkeys(normalize_step(s) for s in value))
        unknown = [s for s in names if s not in known]
        if unknown:
            raise ValueError(f"unknown steps {unknown}; steps are {', '.join(known)}")
        order = [known.index(s) for s in names]
        if order != sorted(set(order)):
            raise ValueError(f"steps must be distinct and in flow order ({', '.join(known)})")
        return names

    @field_validator("from_step", "to_step")
    @classmethod
    def _known_step(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = normalize_step(value)
        if name not in BUILD_STEPS:
            raise ValueError(f"unknown step {value!r}; steps are {', '.join(BUILD_STEPS)}")
        return name

    @field_validator("generate_outputs", mode="before")
    @classmethod
    def _finn_outputs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [s for s in value.split(",") if s.strip()]
        if isinstance(value, list | tuple):
            out = []
            for item in value:
                out.append(finn_output(item))
            return tuple(dict.fromkeys(out))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BuildConfig:
        if self.folding is not None and self.target_fps is not None:
            raise ValueError("give a folding file or a target FPS, not both")
        if "stitch" in self.generate_outputs and "hls" not in self.generate_outputs:
            raise ValueError("output 'stitch' needs output 'hls' (the block design instantiates the layer IPs/modules)")
        return self

    def describe(self) -> dict[str, Any]:
        """The settings as JSON-ready values with absolute paths (``build_config.json``)."""
        data = self.model_dump(mode="json")
        for key in ("output_dir", "folding", "verify_data"):
            value = getattr(self, key)
            if value is not None:
                data[key] = str(Path(value).resolve())
        return data


#: Command-line spelling of settings whose option name differs from the field.
_FLAGS = {"output_dir": "--output", "generate_outputs": "--no-plots"}


def _one_line(exc: ValidationError, origin: str | None) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        if origin is None:  # command-line options
            loc = _FLAGS.get(loc, "--" + loc.replace("_", "-"))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        parts.append(f"{loc}: {msg}")
    return ("" if origin is None else f"{origin}: ") + "; ".join(parts)


def make_build_config(origin: str | None = "build config", **values: Any) -> BuildConfig:
    """A :class:`BuildConfig` from keyword values; invalid settings raise one :class:`ConfigError` line.

    Args:
        origin: what the values came from, for the message (e.g. the file name);
            None names the settings as command-line options (``--clock-ns``).
        **values: the settings.
    """
    try:
        return BuildConfig(**finn_settings(values))
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, origin).replace("\n", " ")) from None


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # json/yaml syntax errors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise ConfigError(f"config file {path}: not valid {kind} ({first})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must hold a mapping of settings, got {type(data).__name__}")
    return data


def load_build_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> BuildConfig:
    """Read a build configuration from a JSON or YAML (``.yaml``/``.yml``) file.

    Relative paths in the file (``output_dir``, ``folding``, ``verify_data``)
    are taken relative to the file's folder. ``overrides`` (e.g. options given
    on the command line) replace the file's values.

    Raises:
        ConfigError: for an unreadable file or invalid settings (one line).
    """
    path = Path(path)
    data = _read_mapping(path)
    for key in ("output_dir", "folding", "folding_config_file", "verify_data"):
        value = data.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[key] = str(path.parent / value)
    if overrides:
        aliases = {"clock_ns": "synth_clk_period_ns", "folding": "folding_config_file"}
        aliases.update({"from_step": "start_step", "to_step": "stop_step"})
        for key, value in overrides.items():
            data.pop(aliases.get(key, ""), None)
            data[key] = value
    return make_build_config(f"config file {path}", **data)

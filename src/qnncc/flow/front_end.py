"""The front end both flows share: a model's input convention and the pipeline to HW layers.

:func:`prepare_input` loads a model and settles its input scale and datatype
(given, or a Brevitas input quantizer's, :func:`detect_input_scale`);
:func:`hw_pipeline` is the steps from the loaded model to named HW layers
(``tidy`` ... ``names``), which ``qnncc estimate`` runs and ``qnncc build``
runs as its first steps.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from qnncc.core.datatype import DataType
from qnncc.core.errors import QnnccError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.core.pipeline import Pipeline
from qnncc.hw.registry import LAYERS
from qnncc.ingest import load

__all__ = ["detect_input_scale", "hw_pipeline", "parse_scale", "prepare_input"]


def parse_scale(text: str | float | None) -> float | None:
    """An input scale given as a float or a fraction string such as ``"1/255"``.

    Raises:
        QnnccError: if the text is not a positive number.
    """
    if text is None or isinstance(text, float):
        return text
    try:
        value = float(Fraction(str(text).strip()))
    except (ValueError, ZeroDivisionError):
        raise QnnccError(f"input scale {text!r} is not a number such as 0.0039 or 1/255") from None
    if value <= 0:
        raise QnnccError(f"input scale must be positive, got {text!r}")
    return value


def detect_input_scale(model: ModelWrapper) -> tuple[float, str] | None:
    """``(scale, datatype)`` if the graph input feeds an unsigned zero-point-0 ``Quant`` (Brevitas' input quantizer)."""
    names = model.graph_input_names()
    if len(names) != 1:
        return None
    consumers = model.find_consumers(names[0])
    if len(consumers) != 1 or consumers[0].op_type != "Quant":
        return None
    q = consumers[0]
    scale, zeropt, bits = (model.get_initializer(t) for t in q.input[1:4])
    if scale is None or zeropt is None or bits is None or scale.size != 1 or np.any(zeropt != 0):
        return None
    if int(model.get_nodeattr(q, "signed", 1)):
        return None
    return float(scale.reshape(-1)[0]), f"UINT{int(bits.reshape(-1)[0])}"


def hw_pipeline(input_scale: float | None, input_datatype: str, insert_topk: bool) -> Pipeline:
    """The steps from a loaded model to a partitioned HW model (no folding)."""
    from qnncc.transforms import (
        ConvertBipolarMatMulToXnorPopcount,
        ConvertQONNXtoFINN,
        ConvertToNHWC,
        GiveUniqueNodeNames,
        InferShapes,
        InsertInputScaling,
        InsertTopK,
        LowerConvsToMatMul,
        Streamline,
        Tidy,
    )
    from qnncc.transforms.hw import RemoveIdentityThresholds

    prep: list[Any] = []
    if input_scale is not None:
        prep.append(InsertInputScaling(input_scale, input_datatype))
    if insert_topk:  # only on class scores: a binary mask or a feature map stays as it is
        prep.append(InsertTopK(only_classifiers=True))
    prep.append(InferShapes())

    def convert() -> list[Any]:
        # an identity MultiThreshold would cost a Thresholding layer for a no-op: removed first
        return [RemoveIdentityThresholds(), *(cls() for desc in LAYERS for cls in desc.infer_passes())]

    return Pipeline(
        [
            ("tidy", Tidy()),
            ("qonnx_to_finn", ConvertQONNXtoFINN()),
            ("prepare_io", prep),
            ("streamline", [Streamline(), ConvertBipolarMatMulToXnorPopcount(), Streamline()]),
            ("lower", [LowerConvsToMatMul(), ConvertToNHWC(), Streamline()]),
            # a second round absorbs what the first exposes (e.g. GlobalAccPool's 1/(H*W) scale)
            ("convert_to_hw", [*convert(), Streamline(), ConvertToNHWC(), Streamline(), *convert()]),
            ("names", GiveUniqueNodeNames()),
        ]
    )


def prepare_input(
    model: ModelWrapper | str | Path, input_scale: float | str | None = None, input_datatype: str = "UINT8"
) -> tuple[ModelWrapper, float | None, str]:
    """Load (or copy) a model and settle its input convention: ``(model, scale, datatype)``.

    The scale is ``input_scale`` or, when None, the one of a leading Brevitas
    input quantizer (:func:`detect_input_scale`); the model is not changed yet
    (``hw_pipeline``'s ``prepare_io`` step inserts the scaling).

    Raises:
        QnnccError: for a bad model file, scale or datatype.
    """
    # onnxsim is skipped: importing it alone takes 0.6 s, and Tidy folds the same constant
    # subgraphs (shape computations included) for the graphs this flow accepts.
    work = load(model, simplify=False) if isinstance(model, (str, Path)) else model.copy()
    scale = parse_scale(input_scale)
    dtype = DataType[input_datatype].name
    if scale is None and (detected := detect_input_scale(work)) is not None:
        scale, dtype = detected
    return work, scale, dtype

"""Jinja2 rendering of the templates in ``hls_templates/templates``.

Python builds a plain context dict; templates only render it. The
environment uses ``StrictUndefined`` so a missing key is an error, never an
empty string in generated C++ or tcl.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from qnncc.core.errors import QnnccError

__all__ = ["CodegenError", "csim_include_dir", "include_dir", "render", "template_dir"]


class CodegenError(QnnccError):
    """A model or layer cannot be turned into HLS C++, tcl or a driver (names the node and the reason)."""


def template_dir() -> Path:
    """Folder of the Jinja2 templates (package data ``qnncc.hls_templates/templates``)."""
    return Path(str(resources.files("qnncc.hls_templates"))) / "templates"


def include_dir() -> Path:
    """Folder of qnncc's header-only C++ library (``#include "qnncc/mvau.hpp"`` resolves under it)."""
    return Path(str(resources.files("qnncc.hls_templates"))) / "include"


def csim_include_dir() -> Path:
    """Folder of the g++ stand-ins for Vitis HLS's ``hls_stream.h`` and ``ap_axi_sdata.h``.

    Only qnncc's C simulation puts it on the include path; the Vitis HLS
    scripts include :func:`include_dir` alone, so the tool uses its own headers.
    """
    return Path(str(resources.files("qnncc.hls_templates"))) / "csim"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, context: dict[str, Any]) -> str:
    """Render ``template`` (a file name under :func:`template_dir`) with ``context``.

    Raises:
        CodegenError: if the template is missing or uses a key the context lacks.
    """
    try:
        return _environment().get_template(template).render(**context)
    except jinja2.TemplateNotFound as err:
        raise CodegenError(f"template {template!r} not found in {template_dir()}") from err
    except jinja2.UndefinedError as err:
        raise CodegenError(f"template {template!r}: {err.message}") from err

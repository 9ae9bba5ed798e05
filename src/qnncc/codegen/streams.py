"""Which generated unit writes and which reads each stream of a partition (HLS and RTL alike)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

from qnncc.codegen.hls.layer_code import Port
from qnncc.codegen.names import safe_identifier
from qnncc.codegen.render import CodegenError
from qnncc.core.model_wrapper import ModelWrapper
from qnncc.custom_op.partition import is_stream_pass_through

__all__ = ["StreamEnds", "internal_streams", "stream_ends"]


class _Unit(Protocol):
    @property
    def node_name(self) -> str: ...

    @property
    def ports(self) -> Sequence[Port]: ...


U = TypeVar("U", bound=_Unit)
#: ``(alias, producers, consumers)``: tensor -> the stream it passes through to, and stream -> (unit, port).
StreamEnds = tuple[dict[str, str], dict[str, tuple[U, Port]], dict[str, tuple[U, Port]]]


def stream_ends(model: ModelWrapper, units: Sequence[U]) -> StreamEnds[U]:
    """The writer and reader of every stream among the generated ``units`` of a partition.

    Stream pass-through nodes (``Reshape``, ``Flatten``, ...) alias their output to their input
    stream, so a stream is named by the tensor its writer produces.

    Args:
        model: the partition's child model.
        units: generated layers (HLS :class:`~qnncc.codegen.hls.layer_code.LayerCode` or RTL layers),
            each with ``node_name`` and ``ports``.

    Returns:
        ``(alias, producers, consumers)``.

    Raises:
        CodegenError: if a tensor feeds two units (a DuplicateStreams layer is needed).
    """
    alias: dict[str, str] = {}
    for node in model.graph.node:
        if is_stream_pass_through(node):
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
    producers: dict[str, tuple[U, Port]] = {}
    consumers: dict[str, tuple[U, Port]] = {}
    for unit in units:
        for port in unit.ports:
            tensor = alias.get(port.tensor, port.tensor)
            table = producers if port.direction == "out" else consumers
            if tensor in table:
                raise CodegenError(
                    f"tensor {port.tensor!r} feeds both {table[tensor][0].node_name} and {unit.node_name}; "
                    "insert a DuplicateStreams layer"
                )
            table[tensor] = (unit, port)
    return alias, producers, consumers


def internal_streams(
    producers: dict[str, tuple[U, Port]], consumers: dict[str, tuple[U, Port]], graph_out: Collection[str]
) -> list[tuple[str, int, tuple[U, Port], tuple[U, Port]]]:
    """The streams between two units of a partition: ``(signal name, width in bits, writer, reader)``.

    Args:
        producers: stream -> writer, from :func:`stream_ends`.
        consumers: stream -> reader, from :func:`stream_ends`.
        graph_out: streams that leave the partition (they have no reader inside it).

    Raises:
        CodegenError: if a stream has no reader, or writer and reader disagree in words, elements
            per word or width (a StreamingDataWidthConverter is needed).
    """
    edges = []
    for tensor, (src, sport) in producers.items():
        if tensor in graph_out:
            continue
        if tensor not in consumers:
            raise CodegenError(f"{src.node_name}: output {tensor!r} is consumed by no HW layer")
        dst, dport = consumers[tensor]
        if (sport.width, sport.elems, sport.words) != (dport.width, dport.elems, dport.words):
            raise CodegenError(
                f"{src.node_name} -> {dst.node_name}: stream of {sport.words} words x {sport.elems} elements "
                f"({sport.width} bits) meets {dport.words} x {dport.elems} ({dport.width} bits); "
                "insert a StreamingDataWidthConverter"
            )
        edges.append(("s_" + safe_identifier(tensor), sport.width, (src, sport), (dst, dport)))
    return edges

"""Exceptions raised by qnncc.

Every error qnncc raises for bad input derives from :class:`QnnccError`, whose
message is one line naming the node or tensor at fault. The CLI prints that
line and exits non-zero instead of showing a traceback.
"""


class QnnccError(Exception):
    r"""Base class of every error qnncc raises on purpose.

    The message is kept to one line: line breaks in it (e.g. from a node name
    in a corrupt file) are escaped as ``\n``.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__("\\n".join(str(message).splitlines()), *args)


class DataTypeError(QnnccError, ValueError):
    """An unknown datatype name or a value outside a datatype's range."""


class ModelLoadError(QnnccError):
    """A model file cannot be read, parsed or validated."""


class UnsupportedOpError(QnnccError):
    """The model uses op types qnncc cannot execute or compile."""


class GraphError(QnnccError):
    """The graph is malformed: a cycle, a dangling tensor, a missing shape."""


class ExecutionError(QnnccError):
    """Executing a node failed; the message names the node."""


class PipelineError(QnnccError, ValueError):
    """A pipeline is misconfigured: a malformed or duplicate step name, an unknown start step."""


class TransformationError(QnnccError):
    """A pass failed or did not reach a fixpoint within its bound."""


class ConfigError(QnnccError, ValueError):
    """A build configuration that cannot be used (one-line message)."""

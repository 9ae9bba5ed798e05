"""Exceptions raised by qnncc.

Every error qnncc raises for bad input derives from :class:`QnnccError`, whose
message is one line naming the node or tensor at fault. The CLI prints that
line and exits non-zero instead of showing a traceback.
"""


class QnnccError(Exception):
    """Base class of every error qnncc raises on purpose."""


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


class TransformationError(QnnccError):
    """A pass failed or did not reach a fixpoint within its bound."""

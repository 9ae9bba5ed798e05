"""Exit codes and the one-line error handling shared by every ``qnncc`` command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from qnncc.core.errors import QnnccError

__all__ = ["EXIT_INTERRUPTED", "EXIT_OVER_BUDGET", "EXIT_USER_ERROR", "EXIT_VERIFY_FAILED", "guard"]

#: Bad input or a failing step (one line on stderr).
EXIT_USER_ERROR = 2
#: The design does not fit the board (``qnncc estimate``).
EXIT_OVER_BUDGET = 3
#: The C++ simulation differs from execute (``qnncc verify``).
EXIT_VERIFY_FAILED = 1
#: Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def guard(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn a QnnccError into one clear line on stderr and exit status 2 (``--debug``: the traceback).

    Ctrl-C exits with status 130 and, for a build, the step to resume from.
    """

    def wrapper(*args: Any, **kwargs: Any) -> None:
        ctx = click.get_current_context()
        try:
            fn(*args, **kwargs)
        except QnnccError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"qnncc: error: {exc}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt as exc:
            if ctx.find_root().params.get("debug"):
                raise
            step = getattr(exc, "step", None)
            hint = f"; resume with --from-step {step}" if step else ""
            click.echo(f"qnncc: interrupted{hint}", err=True)
            sys.exit(EXIT_INTERRUPTED)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper

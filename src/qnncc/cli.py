"""The ``qnncc`` command line (placeholder until the CLI module lands)."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``qnncc`` console script."""
    raise SystemExit("qnncc: no commands yet")

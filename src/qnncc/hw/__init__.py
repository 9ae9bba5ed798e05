"""Streaming dataflow hardware: HW layer ops, performance model, folding."""

"""Public entry point of the estimate flow: ``qnncc.estimate.estimate(...)``.

The flow itself lives in :mod:`qnncc.flow.estimate`; this module keeps the documented import
path stable.
"""

from qnncc.flow.estimate import EstimateResult, estimate, parse_scale

__all__ = ["EstimateResult", "estimate", "parse_scale"]

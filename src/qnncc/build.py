"""Public entry point of the build flow: ``from qnncc.build import BuildConfig, build``.

The flow itself lives in :mod:`qnncc.flow.build`; this module keeps the documented import
path stable (``qnncc.build`` the attribute is the function, see ``qnncc/__init__.py``).
"""

from qnncc.flow.build import BuildConfig, BuildError, BuildResult, build, checkpoints, verify_build

__all__ = ["BuildConfig", "BuildError", "BuildResult", "build", "checkpoints", "verify_build"]

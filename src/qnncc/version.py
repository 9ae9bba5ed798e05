"""qnncc's version (the package's ``__version__``; read by setup.cfg and written into drivers)."""

__version__ = "0.1.0"

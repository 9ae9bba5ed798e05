"""Test-only check of qnncc's Vitis link flow (no Vitis needed): see :mod:`vitis_stub.check`."""

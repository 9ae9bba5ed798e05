"""Per-layer RTL builders: HW node -> :class:`~qnncc.codegen.rtl.layer.RtlLayer`.

Each module is the ``rtl`` facet of the same-named layer module of :mod:`qnncc.hw.layers`; the
builders are found through the layer registry (:func:`qnncc.codegen.rtl.builders.rtl_builders`).
"""

"""The flows users run: estimate, build (named steps over a frozen config), verify, reports.

Floor: the flow sits above code generation and imports from every lower floor
(``core`` -> ``custom_op`` -> ``hw`` -> ``execution`` -> ``transforms`` -> ``codegen``);
only the command line (:mod:`qnncc.cli`) sits above it.
"""

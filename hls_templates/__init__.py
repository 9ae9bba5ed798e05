"""qnncc's header-only HLS streaming library and Jinja2 templates (package data).

Locate files with ``importlib.resources.files("qnncc.hls_templates")``.
"""
